// Prints N free TCP ports on 127.0.0.1, space-separated: each is bound with port 0 (the kernel picks an
// unused one), all are held until every one is known (so none repeats), then released.
import { createServer } from "node:net";

const count = Number(process.argv[2] ?? 1);
if (!Number.isInteger(count) || count < 1) {
  console.error("usage: free-ports.mjs <count>");
  process.exit(2);
}
const servers = await Promise.all(
  Array.from(
    { length: count },
    () =>
      new Promise((resolve, reject) => {
        const server = createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve(server));
      }),
  ),
);
const ports = servers.map((s) => s.address().port);
await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
console.log(ports.join(" "));
