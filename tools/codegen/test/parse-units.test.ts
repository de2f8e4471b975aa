// The parser's own pieces: macro masking that leaves comments, strings and directives alone,
// literal parsing, and constant evaluation over names from earlier declarations.
import { describe, expect, it } from 'vitest';
import { parseIntegerLiteral, parseStringLiteral } from '../src/parse/literals.js';
import { maskMacros } from '../src/parse/mask-macros.js';

describe('maskMacros', () => {
  it('blanks macros in code only, keeping every position', () => {
    const source = [
      '#define LLM_API __attribute__((visibility("default")))',
      '// LLM_API in a comment',
      'class LLM_API LlmDataDist { /* LLM_API */ const char *s = "LLM_API"; char c = \'L\'; };',
      'const char *raw = R"x(LLM_API)x"; int n = 1\'000; DEPRECATED("old") LLM_API_EXTRA f();',
    ].join('\n');
    const masked = maskMacros(source, ['LLM_API', 'DEPRECATED']);
    expect(masked.length).toBe(source.length);
    expect(masked.split('\n')).toEqual([
      '#define LLM_API __attribute__((visibility("default")))',
      '// LLM_API in a comment',
      'class         LlmDataDist { /* LLM_API */ const char *s = "LLM_API"; char c = \'L\'; };',
      `const char *raw = R"x(LLM_API)x"; int n = 1'000; ${' '.repeat('DEPRECATED("old")'.length)} LLM_API_EXTRA f();`,
    ]);
  });

  it('leaves directive continuations alone', () => {
    const source = '#define X \\\n  LLM_API\nLLM_API int y;';
    expect(maskMacros(source, ['LLM_API'])).toBe('#define X \\\n  LLM_API\n        int y;');
  });
});

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
