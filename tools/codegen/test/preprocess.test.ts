// The preprocessor stage on its own: header trees written to a temporary folder, preprocessed as
// the codegen does, and the text the parser would read checked line by line.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CodegenError } from '../src/errors.js';
import { HeaderLocator } from '../src/parse/header-set.js';
import { evaluateCondition } from '../src/parse/pp-expression.js';
import { tokenize } from '../src/parse/pp-tokens.js';
import { preprocessHeaders, type PreprocessedHeaders, type PreprocessOptions } from '../src/parse/preprocess.js';
import { tempDir } from './helpers.js';

const work = tempDir('preprocess');
afterAll(() => work.remove());
let trees = 0;

/** Writes `files` into a fresh folder and preprocesses `entry` (the first file unless named). */
function run(files: Record<string, string>, options: Partial<PreprocessOptions> = {}, entries = [Object.keys(files)[0]!]): PreprocessedHeaders {
  const root = join(work.path, `tree-${trees++}`);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return preprocessHeaders(new HeaderLocator(root, [], root), entries, { erased: [], configName: 'codegen.json', ...options });
}

/** The code of one file, trailing blanks of each line trimmed. */
function code(result: PreprocessedHeaders, path?: string): string[] {
  const file = path ? result.files.find((f) => f.path === path)! : result.files[result.files.length - 1]!;
  return file.code.split('\n').map((l) => l.replace(/\s+$/, ''));
}

function failure(fn: () => unknown): CodegenError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CodegenError) return error;
    throw error;
  }
  throw new Error('expected a CodegenError');
}

describe('macro expansion', () => {
  it('expands object-like and function-like macros, rescanning the result, and keeps every line where it was', () => {
    const result = run({
      'a.h': [
        '#define BASE 0x5010B000U',
        '#define CODE(n) (BASE + (n))',
        '#define DECLARE(name, n) constexpr unsigned name = CODE(n)',
        '/// Kept: a doc comment.',
        'DECLARE(A, 1);',
        'DECLARE(B,',
        '        2); int after_b;',
        'int last;',
      ].join('\n'),
    });
    expect(code(result).map((l) => l.replace(/\s+/g, ' ').trim())).toEqual([
      '',
      '',
      '',
      '/// Kept: a doc comment.',
      'constexpr unsigned A = ( 0x5010B000U + (1)) ;',
      'constexpr unsigned B = ( 0x5010B000U + (2))',
      '; int after_b;',
      'int last;',
    ]);
    expect(result.files[0]!.uses.map((u) => [u.name, u.line, u.text])).toEqual([
      ['DECLARE', 5, 'DECLARE(A, 1)'],
      ['DECLARE', 6, 'DECLARE(B, 2)'],
    ]);
  });

  it('applies # and ## with the arguments as written, and pre-expands the other arguments', () => {
    const result = run({
      'a.h': ['#define ONE 1', '#define NAME(x) #x', '#define GLUE(a, b) a##b', '#define USE(a) a', 'NAME(ONE "q\\n") GLUE(g_, ONE) GLUE(, ONE) USE(ONE)'].join('\n'),
    });
    expect(code(result)[4]!.replace(/\s+/g, ' ').trim()).toBe('"ONE \\"q\\\\n\\"" g_ONE 1 1');
  });

  it('expands variadic macros with __VA_ARGS__, a named pack and __VA_OPT__', () => {
    const result = run({
      'a.h': ['#define CALL(f, ...) f(__VA_ARGS__)', '#define LIST(args...) {args}', '#define OPT(x, ...) x __VA_OPT__(+ __VA_ARGS__)', 'CALL(g, 1, (2, 3)) LIST(4, 5) OPT(6) OPT(7, 8)'].join('\n'),
    });
    expect(code(result)[3]!.replace(/\s+/g, '')).toBe('g(1,(2,3)){4,5}67+8');
  });

  it('does not expand a macro inside its own expansion, and leaves a function-like name without ( alone', () => {
    const result = run({ 'a.h': ['#define SELF SELF + 1', '#define F(x) x', 'int a = SELF; int F = 2;'].join('\n') });
    expect(code(result)[2]!.replace(/\s+/g, ' ')).toBe('int a = SELF + 1 ; int F = 2;');
  });

  it('leaves comments, string literals and character literals as they are', () => {
    const result = run({ 'a.h': ['#define API __attribute__((visibility("default")))', '/* API */ const char *s = "API"; // API', "char c = 'A';"].join('\n') });
    expect(code(result).slice(1)).toEqual(['/* API */ const char *s = "API"; // API', "char c = 'A';"]);
  });

  it('names a call with the wrong number of arguments, at its line', () => {
    const error = failure(() => run({ 'a.h': ['#define TWO(a, b) a b', '', 'TWO(1);'].join('\n') }));
    expect(error.oneLine()).toMatch(/^a\.h:3: macro TWO \(defined at a\.h:1\) takes 2 arguments, but is called with 1\. Fix: /);
  });
});

describe('what the parser never sees', () => {
  it('drops attributes, _Pragma, #pragma and the configured visibility macros, keeping the lines', () => {
    const result = run(
      {
        'a.h': [
          '#pragma message("deprecated header")',
          '#pragma once',
          '[[deprecated("use B")]] constexpr int A = 1;',
          'constexpr const char X[] __attribute__((deprecated("v1"))) = "x";',
          '_Pragma("GCC diagnostic push") class VENDOR_API(default) C {};',
          'enum E { kOld [[deprecated]] = 1, kNew = 2 };',
          'class __declspec(dllexport)',
          '  VENDOR_API D {};',
        ].join('\n'),
      },
      { erased: ['VENDOR_API'] },
    );
    expect(code(result).map((l) => l.replace(/\s+/g, ' ').trim())).toEqual([
      '',
      '',
      'constexpr int A = 1;',
      'constexpr const char X[] = "x";',
      'class C {};',
      'enum E { kOld = 1, kNew = 2 };',
      'class',
      'D {};',
    ]);
  });

  it('does not take a # inside a block comment for a directive', () => {
    const result = run({ 'a.h': ['/*', '#define HIDDEN 1', '*/', 'int x = HIDDEN;'].join('\n') });
    expect(code(result)).toEqual(['/*', '#define HIDDEN 1', '*/', 'int x = HIDDEN;']);
  });
});

describe('conditionals', () => {
  it('evaluates #if/#elif/#else with defined, arithmetic and macros, #ifdef and #ifndef', () => {
    const result = run({
      'a.h': [
        '#define VERSION 3',
        '#if defined(VERSION) && VERSION * 2 >= 6 && !defined UNSET',
        'int if_taken;',
        '#elif 1',
        'int elif_after_taken;',
        '#else',
        'int else_after_taken;',
        '#endif',
        '#if VERSION < 2',
        'int no;',
        '#elif (VERSION << 1) == 6 ? 1 : 0',
        'int elif_taken;',
        '#endif',
        '#ifdef UNSET',
        'int ifdef_unset;',
        '#else',
        'int else_taken;',
        '#endif',
        '#ifndef VERSION',
        'int ifndef_defined;',
        '#endif',
      ].join('\n'),
    });
    expect(code(result).filter((l) => l !== '')).toEqual(['int if_taken;', 'int elif_taken;', 'int else_taken;']);
    expect(code(result)).toHaveLength(21);
  });

  it('uses the build define set (Linux, g++, C++17), and the config can change it', () => {
    const header = {
      'a.h': [
        '#if defined(_MSC_VER)',
        'int msvc;',
        '#elif defined(__GNUC__) && __cplusplus >= 201703L && defined(__linux__)',
        'int gnu_cxx17_linux;',
        '#endif',
        '#ifdef FUNC_VISIBILITY',
        'int exporting;',
        '#endif',
        'int value = WIDTH(4);',
      ].join('\n'),
    };
    expect(code(run(header)).filter((l) => l !== '')).toEqual(['int gnu_cxx17_linux;', 'int value = WIDTH(4);']);
    const changed = run(header, { defines: { __GNUC__: null, _MSC_VER: '1930', FUNC_VISIBILITY: '', 'WIDTH(n)': '(n * 8)' } });
    expect(code(changed).filter((l) => l !== '').map((l) => l.replace(/\s+/g, ' '))).toEqual(['int msvc;', 'int exporting;', 'int value = (4 * 8) ;']);
  });

  it('does not evaluate branches inside a skipped one, and skips their #error', () => {
    const result = run({ 'a.h': ['#if 0', '#if 1 / 0', '#error unreachable', '#elif garbage (', '#endif', '#else', 'int kept;', '#endif'].join('\n') });
    expect(code(result)).toEqual(['', '', '', '', '', '', 'int kept;', '']);
  });

  it('answers __has_include from the include folders, and takes system headers to exist', () => {
    const result = run({
      'a.h': ['#if __has_include("b.h") && !__has_include("missing.h") && __has_include(<vector>)', 'int yes;', '#endif'].join('\n'),
      'b.h': '',
    });
    expect(code(result, 'a.h')[1]).toBe('int yes;');
  });

  it('stops at #error in a compiled branch, naming the define set as the fix', () => {
    const error = failure(() => run({ 'a.h': ['#ifndef __linux__', '#error "needs Linux"', '#endif', '#if !defined(__linux__) || 1', '#error "this build is not supported"', '#endif'].join('\n') }));
    expect(error.oneLine()).toBe('a.h:5: the header stops the build: #error "this build is not supported". Fix: set "defines" in the config (--config) to the macros your build defines; docs/codegen.md, "Preprocessor", lists the default set.');
  });

  it('names an unterminated #if, a stray #endif and an expression it cannot evaluate', () => {
    expect(failure(() => run({ 'a.h': ['int a;', '#ifdef X', 'int b;'].join('\n') })).oneLine()).toMatch(/^a\.h:2: #if at line 2 has no #endif\./);
    expect(failure(() => run({ 'a.h': ['#endif'].join('\n') })).oneLine()).toMatch(/^a\.h:1: #endif without #if\./);
    expect(failure(() => run({ 'a.h': ['#if 1 +', '#endif'].join('\n') })).oneLine()).toMatch(/^a\.h:1: cannot evaluate #if 1 \+: the expression ends early\. Fix: set "defines"/);
  });
});

describe('includes', () => {
  it('reads an include where it stands: its macros apply below it, and an include in a skipped branch is not read', () => {
    const result = run({
      'api.h': ['#ifdef _WIN32', '#include "windows_only.h"', '#endif', 'int before = LATER;', '#include "sub/codes.h"', 'int after = LATER;', '#include "nowhere.h"'].join('\n'),
      'sub/codes.h': ['#include "defs.h"', '#define LATER 2'].join('\n'),
      'sub/defs.h': '#define UNUSED 0',
    });
    expect(result.files.map((f) => [f.path, f.role])).toEqual([
      ['sub/defs.h', 'dependency'],
      ['sub/codes.h', 'dependency'],
      ['api.h', 'entry'],
    ]);
    expect(code(result, 'api.h')[3]).toBe('int before = LATER;');
    expect(code(result, 'api.h')[5]!.replace(/\s+/g, ' ')).toBe('int after = 2 ;');
    expect(result.unresolvedIncludes).toEqual([{ file: 'api.h', line: 7, include: 'nowhere.h' }]);
    expect(result.macros.map((m) => `${m.name}@${m.file}:${m.line}`)).toEqual(['UNUSED@sub/defs.h:1', 'LATER@sub/codes.h:2']);
  });
});

describe('#if expressions', () => {
  const value = (text: string): bigint => evaluateCondition(tokenize(text));

  it('follows C precedence, the conditional operator and character literals', () => {
    expect([value('1 + 2 * 3'), value('(1 + 2) * 3'), value('1 << 4 | 1'), value('7 % 4 == 3 && 2 > 1'), value("'A' == 65"), value('0 ? 1 : 2 ? 3 : 4'), value('~0 == -1'), value('0x10 >> 2')]).toEqual([
      7n,
      9n,
      17n,
      1n,
      1n,
      3n,
      1n,
      4n,
    ]);
  });
});
