import { z } from 'zod';

/**
 * Env documentation, written once in the zod schemas: each variable's `.describe()` text, and its default
 * and accepted values as the schema has them. `--help` and the READMEs' env tables (`pnpm docs:env`) are
 * rendered from these rows. A default that depends on where the process runs (a pod or not, the CPU, the
 * home folder) is documented by `.meta({ description, computedDefault })`: the tables show that text,
 * --help the value this process got.
 */
export interface EnvRow {
  name: string;
  description: string;
  /** The schema's default, as text (`""` for an empty string). */
  default?: string;
  computedDefault?: string;
  /** The accepted values of an enumeration. */
  values?: string[];
  required: boolean;
}

type Def = { type: string; in?: z.ZodType; innerType?: z.ZodType; defaultValue?: unknown; entries?: object };

const show = (v: unknown): string => (typeof v === 'string' && v !== '' ? v : JSON.stringify(v));

/** Description, default and values, looking through defaults, optionals and pipes (their input side). */
function inspect(schema: z.ZodType): Partial<EnvRow> {
  const def = schema._zod.def as unknown as Def;
  const inner = def.type === 'pipe' ? def.in : def.innerType;
  const found = inner ? inspect(inner) : {};
  const meta = z.globalRegistry.get(schema);
  return {
    description: meta?.description ?? found.description,
    default: def.type === 'default' ? show(def.defaultValue) : found.default,
    computedDefault: (meta?.computedDefault as string | undefined) ?? found.computedDefault,
    values: def.type === 'enum' ? Object.values(def.entries ?? {}).map(show) : found.values,
  };
}

/** One row per variable of an object schema, in its order; `omit`'s keys left out (e.g. `sharedEnvShape`). */
export function envRows(schema: z.ZodType, omit: object = {}): EnvRow[] {
  const shape = (schema as unknown as z.ZodObject).shape as Record<string, z.ZodType>;
  return Object.entries(shape)
    .filter(([name]) => !(name in omit))
    .map(([name, field]) => {
      const found = inspect(field);
      return { ...found, name, description: found.description ?? '', required: !field.isOptional() };
    });
}

/** The Environment section of --help: one line per variable. */
export function envHelp(schema: z.ZodType): string[] {
  return envRows(schema).map((r) => {
    const dflt = r.default ?? r.computedDefault;
    const tail = r.required ? ' (required)' : dflt === undefined ? '' : ` (default: ${dflt})`;
    return `  ${r.name.padEnd(34)} ${r.description}${r.values ? ` [${r.values.join('|')}]` : ''}${tail}`;
  });
}

/** A Markdown table of the rows, columns padded like the hand-made tables of the READMEs. */
export function envTable(rows: EnvRow[]): string {
  const text = (s: string) => s.replace(/[|<]/g, '\\$&'); // a cell's end; an HTML tag's start
  const cells = rows.map((r) => [
    `\`${r.name}\``,
    (r.computedDefault && text(r.computedDefault)) ||
      (r.default && `\`${r.default}\``) ||
      (r.required ? 'required' : ''),
    text(`${r.description}${r.values ? ` One of ${r.values.map((v) => `\`${v}\``).join(', ')}.` : ''}`),
  ]);
  const table = [['variable', 'default', 'description'], ...cells];
  const widths = [0, 1, 2].map((i) => Math.max(...table.map((row) => row[i]?.length ?? 0)));
  const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(table[0] ?? []), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** Rewrites every `<!-- env:begin NAME -->` … `<!-- env:end -->` region of a text with `tables[NAME]`. */
export function fillEnvRegions(text: string, tables: Record<string, string>): string {
  return text.replace(/(<!-- env:begin (\S+) -->\n)[\s\S]*?(<!-- env:end -->)/g, (_, begin, name, end) => {
    if (tables[name] === undefined) throw new Error(`no env table named ${name}`);
    return `${begin}\n${tables[name]}\n\n${end}`;
  });
}
