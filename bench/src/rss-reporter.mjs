// Loaded with `node --import` into a measured process: reports its own peak RSS when it exits.
process.on('exit', () => {
  process.stderr.write(`__NODE_MAXRSS_KB=${process.resourceUsage().maxRSS}\n`);
});
