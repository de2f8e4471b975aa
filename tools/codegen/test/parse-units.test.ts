// The parser's own pieces: literal parsing. The preprocessor stage has its own file (preprocess.test.ts).
import { describe, expect, it } from 'vitest';
import { parseIntegerLiteral, parseStringLiteral } from '../src/parse/literals.js';

describe('literals', () => {
  it('parses integer literals with bases, suffixes, separators and signs', () => {
    expect(['0x5010B001U', '0xFFFFFFFFU', '017', '0b101', "1'000'000", '2ULL', '-1', '0', '18446744073709551615ULL'].map(parseIntegerLiteral)).toEqual([
      0x5010b001n,
      0xffffffffn,
      15n,
      5n,
      1000000n,
      2n,
      -1n,
      0n,
      18446744073709551615n,
    ]);
    expect(parseIntegerLiteral('1.5f')).toBeUndefined();
  });

  it('decodes string escapes, prefixes and raw strings', () => {
    expect(parseStringLiteral('"llm.\\"x\\"\\\\\\n\\x41\\u00e9"')).toBe('llm."x"\\\nAé');
    expect(parseStringLiteral('u8"选项"')).toBe('选项');
    expect(parseStringLiteral('R"d(a "quoted" )" b)d"')).toBe('a "quoted" )" b');
  });
});
