/**
 * A small generator of strings that match a "simple" regular expression (the `pattern` keyword of a JSON
 * Schema): literals, escapes (\d \w \s …), character classes and ranges (negated too), groups
 * (capturing, non-capturing, named), alternation (first branch), quantifiers (* + ? {n} {n,} {n,m}, lazy
 * or not) and anchors. Look-arounds, back-references and most Unicode property escapes are not simple:
 * they throw {@link UnsupportedPattern}, and the caller falls back to something else. The result is
 * always checked against the real RegExp by the caller; this only proposes candidates.
 */

export class UnsupportedPattern extends Error {
  override name = 'UnsupportedPattern';
}

type Node =
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; options: Node[] }
  | { t: 'lit'; ch: string }
  | { t: 'set'; chars: string[] }
  | { t: 'rep'; node: Node; min: number; max: number }
  | { t: 'empty' };

type Range = [number, number];

const DIGITS: Range[] = [[48, 57]];
const WORD: Range[] = [
  [97, 122],
  [65, 90],
  [48, 57],
  [95, 95],
];
const SPACE: Range[] = [
  [32, 32],
  [9, 10],
  [13, 13],
];
/** Characters tried, in order, for a negated class or a negated escape. */
const POOL = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-. ,:;!?@#%&+=/()'.split('');

const inRanges = (cp: number, ranges: Range[]) => ranges.some(([lo, hi]) => cp >= lo && cp <= hi);

function charsOf(ranges: Range[], negated: boolean): string[] {
  if (negated) {
    const chars = POOL.filter((c) => !inRanges(c.codePointAt(0) ?? 0, ranges));
    if (chars.length === 0) throw new UnsupportedPattern('negated class excludes every candidate');
    return chars;
  }
  const chars: string[] = [];
  for (const [lo, hi] of ranges) {
    for (let cp = lo; cp <= hi && cp < lo + 16; cp++) chars.push(String.fromCodePoint(cp));
  }
  if (chars.length === 0) throw new UnsupportedPattern('empty class');
  return chars;
}

class Parser {
  private i = 0;
  private readonly src: string;
  constructor(src: string) {
    this.src = src;
  }

  parse(): Node {
    const node = this.alt();
    if (this.i < this.src.length) throw new UnsupportedPattern(`unexpected ${this.src[this.i]}`);
    return node;
  }

  private peek(): string | undefined {
    return this.src[this.i];
  }

  private alt(): Node {
    const options = [this.seq()];
    while (this.peek() === '|') {
      this.i++;
      options.push(this.seq());
    }
    return options.length === 1 ? (options[0] as Node) : { t: 'alt', options };
  }

  private seq(): Node {
    const items: Node[] = [];
    for (let c = this.peek(); c !== undefined && c !== '|' && c !== ')'; c = this.peek()) {
      items.push(this.quantified(this.atom()));
    }
    return { t: 'seq', items };
  }

  private quantified(node: Node): Node {
    const c = this.peek();
    let min: number;
    let max: number;
    if (c === '*') [min, max] = [0, Number.POSITIVE_INFINITY];
    else if (c === '+') [min, max] = [1, Number.POSITIVE_INFINITY];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i));
      if (!m) return node; // a literal '{' (non-unicode mode)
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Number.POSITIVE_INFINITY : Number(m[3]);
      this.i += m[0].length - 1;
    } else return node;
    this.i++;
    if (this.peek() === '?') this.i++; // lazy
    return { t: 'rep', node, min, max };
  }

  private atom(): Node {
    const c = this.src[this.i++] as string;
    switch (c) {
      case '^':
      case '$':
        return { t: 'empty' };
      case '.':
        return { t: 'set', chars: POOL.filter((x) => x !== '\n') };
      case '(':
        return this.group();
      case '[':
        return this.charClass();
      case '\\':
        return this.escape(false);
      case '*':
      case '+':
      case '?':
        throw new UnsupportedPattern(`nothing to repeat before ${c}`);
      default:
        return { t: 'lit', ch: c };
    }
  }

  private group(): Node {
    if (this.peek() === '?') {
      const rest = this.src.slice(this.i, this.i + 3);
      if (rest.startsWith('?:')) this.i += 2;
      else if (rest.startsWith('?<') && rest[2] !== '=' && rest[2] !== '!') {
        const end = this.src.indexOf('>', this.i);
        if (end < 0) throw new UnsupportedPattern('bad group name');
        this.i = end + 1;
      } else throw new UnsupportedPattern('look-around');
    }
    const node = this.alt();
    if (this.src[this.i++] !== ')') throw new UnsupportedPattern('unclosed group');
    return node;
  }

  /** An escape: inside a class it yields ranges, outside a node. */
  private escape(inClass: true): Range[];
  private escape(inClass: false): Node;
  private escape(inClass: boolean): Node | Range[] {
    const c = this.src[this.i++];
    if (c === undefined) throw new UnsupportedPattern('trailing backslash');
    const set = (ranges: Range[], negated: boolean): Node | Range[] => {
      if (inClass) {
        if (negated) throw new UnsupportedPattern('negated escape inside a class');
        return ranges;
      }
      return { t: 'set', chars: charsOf(ranges, negated) };
    };
    const lit = (ch: string): Node | Range[] => {
      const cp = ch.codePointAt(0) ?? 0;
      return inClass ? [[cp, cp]] : { t: 'lit', ch };
    };
    switch (c) {
      case 'd':
        return set(DIGITS, false);
      case 'D':
        return set(DIGITS, true);
      case 'w':
        return set(WORD, false);
      case 'W':
        return set(WORD, true);
      case 's':
        return set(SPACE, false);
      case 'S':
        return set(SPACE, true);
      case 'b':
        if (inClass) return lit('\b');
        return { t: 'empty' };
      case 'B':
        throw new UnsupportedPattern('\\B');
      case 'n':
        return lit('\n');
      case 'r':
        return lit('\r');
      case 't':
        return lit('\t');
      case 'f':
        return lit('\f');
      case 'v':
        return lit('\v');
      case '0':
        return lit('\0');
      case 'x': {
        const hex = this.src.slice(this.i, this.i + 2);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) return lit('x');
        this.i += 2;
        return lit(String.fromCodePoint(Number.parseInt(hex, 16)));
      }
      case 'u': {
        const m = /^(?:([0-9a-fA-F]{4})|\{([0-9a-fA-F]{1,6})\})/.exec(this.src.slice(this.i));
        if (!m) return lit('u');
        this.i += m[0].length;
        return lit(String.fromCodePoint(Number.parseInt((m[1] ?? m[2]) as string, 16)));
      }
      case 'p':
      case 'P': {
        const m = /^\{([^}]*)\}/.exec(this.src.slice(this.i));
        if (!m || c === 'P') throw new UnsupportedPattern('unicode property');
        this.i += m[0].length;
        const name = m[1] as string;
        if (['L', 'Letter', 'Ll', 'Lowercase_Letter', 'Alphabetic', 'Alpha'].includes(name))
          return set([[97, 122]], false);
        if (['Lu', 'Uppercase_Letter'].includes(name)) return set([[65, 90]], false);
        if (['N', 'Nd', 'Number', 'Decimal_Number'].includes(name)) return set(DIGITS, false);
        throw new UnsupportedPattern(`unicode property ${name}`);
      }
      case 'k':
        throw new UnsupportedPattern('named back-reference');
      default:
        if (/[1-9]/.test(c)) throw new UnsupportedPattern('back-reference');
        return lit(c);
    }
  }

  private charClass(): Node {
    let negated = false;
    if (this.peek() === '^') {
      negated = true;
      this.i++;
    }
    const ranges: Range[] = [];
    const single = (): Range[] => {
      const c = this.src[this.i++];
      if (c === undefined) throw new UnsupportedPattern('unclosed class');
      if (c === '\\') return this.escape(true);
      if (c === '[') throw new UnsupportedPattern('nested class');
      const cp = c.codePointAt(0) ?? 0;
      if (cp > 0xffff) this.i++;
      return [[cp, cp]];
    };
    while (this.peek() !== ']') {
      if (this.peek() === undefined) throw new UnsupportedPattern('unclosed class');
      const first = single();
      const one = first.length === 1 && first[0] && first[0][0] === first[0][1] ? first[0][0] : undefined;
      if (
        one !== undefined &&
        this.peek() === '-' &&
        this.src[this.i + 1] !== ']' &&
        this.i + 1 < this.src.length
      ) {
        this.i++;
        const second = single();
        const hi =
          second.length === 1 && second[0] && second[0][0] === second[0][1] ? second[0][0] : undefined;
        if (hi === undefined || hi < one) throw new UnsupportedPattern('bad range');
        ranges.push([one, hi]);
      } else ranges.push(...first);
    }
    this.i++;
    return { t: 'set', chars: charsOf(ranges, negated) };
  }
}

const MAX_SAMPLE = 10_000;

function generate(node: Node, variant: number, stretch: number): string {
  switch (node.t) {
    case 'seq':
      return node.items.map((n) => generate(n, variant, stretch)).join('');
    case 'alt':
      return generate(node.options[0] as Node, variant, stretch);
    case 'lit':
      return node.ch;
    case 'set':
      return node.chars[variant % node.chars.length] as string;
    case 'rep': {
      const count = Math.min(node.max, node.min + stretch);
      let out = '';
      for (let k = 0; k < count; k++) {
        out += generate(node.node, variant, stretch);
        if (out.length > MAX_SAMPLE) throw new UnsupportedPattern('sample too long');
      }
      return out;
    }
    case 'empty':
      return '';
  }
}

/**
 * Candidate strings for `pattern`, shortest first: the minimal repetition of every quantifier, then
 * longer ones (`stretch` extra repetitions), each with its character choices shifted by `variant` so that
 * different variants give different strings. Throws {@link UnsupportedPattern} for non-simple patterns.
 */
export function samplesForPattern(
  pattern: string,
  variant = 0,
  stretches = [0, 1, 2, 3, 5, 8, 13, 21],
): string[] {
  const ast = new Parser(pattern).parse();
  return stretches.map((s) => generate(ast, variant, s));
}

/** The pattern compiled as JSON Schema means it (ECMA-262, unanchored), or undefined if JS can't compile it. */
export function compilePattern(pattern: string): RegExp | undefined {
  for (const flags of ['u', '']) {
    try {
      return new RegExp(pattern, flags);
    } catch {
      // try the next flags
    }
  }
  return undefined;
}
