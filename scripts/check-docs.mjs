#!/usr/bin/env node
// Checks that the docs stand alone:
//   1. every relative link of every markdown file in the repository resolves to a file inside it
//      (and to a heading there, when it names one);
//   2. no doc names a file that is not in the repository (the spec files the project was built
//      from live outside it; what the docs need from them is in docs/compat.md);
//   3. the TypeDoc site (built into a temporary folder) documents every public entry point of every
//      package, and every link in it resolves inside the site: guide links open the guides' pages,
//      not raw .md files;
//   4. the benchmark figures of the docs equal those of the committed reports (scripts/docs-figures.mjs).
// Needs the packages built (TypeDoc reads their declarations). Usage: node scripts/check-docs.mjs
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { quotations, quotedDocs } from './docs-figures.mjs';
import { publishablePackages, repoRoot } from './lib/packs.mjs';

const skipDirs = new Set(['node_modules', '.git', 'dist', 'build', '.turbo', 'api', 'packs', 'test-logs', 'prebuilds', 'coverage']);

function walk(dir, keep, found = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') && entry.name !== '.changeset') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!skipDirs.has(entry.name) && !(entry.name === 'headers' && dir.endsWith(`${sep}native`))) walk(path, keep, found);
    } else if (keep(entry.name)) found.push(path);
  }
  return found;
}

/** Markdown without its fenced and inline code, where links and file names are not prose. */
const prose = (text) => text.replace(/^(```|~~~)[\s\S]*?^\1/gm, '').replace(/`[^`\n]*`/g, '');

/** GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function headingIds(text) {
  const ids = new Set();
  const seen = new Map();
  for (const [, heading] of text.replace(/^(```|~~~)[\s\S]*?^\1/gm, '').matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = heading
      .replace(/<[^>]+>/g, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    ids.add(n === 0 ? base : `${base}-${n}`);
  }
  return ids;
}

const failures = [];
const notes = [];
let groupsPassed = 0;
function group(name, problems, detail) {
  if (problems.length === 0) {
    groupsPassed += 1;
    console.log(`  ✓ ${name}: ${detail}`);
  } else {
    console.log(`  ✗ ${name}: ${problems.length} problem(s)`);
    for (const p of problems) console.log(`      ${p}`);
    failures.push(name);
  }
}

// 1 and 2: the markdown files.
const markdown = walk(repoRoot, (name) => name.endsWith('.md'));
const mdNames = new Set(markdown.map((p) => p.split(sep).at(-1)));
const linkProblems = [];
const outsideProblems = [];
let links = 0;
for (const file of markdown) {
  const rel = relative(repoRoot, file);
  const text = readFileSync(file, 'utf8');
  const body = prose(text);
  for (const [, target] of body.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    if (/^[a-z][a-z+.-]*:/i.test(target)) continue;
    links += 1;
    const [path, anchor] = target.split('#');
    const resolved = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
    if (!resolved.startsWith(repoRoot + sep) && resolved !== repoRoot) {
      linkProblems.push(`${rel}: (${target}) points outside the repository`);
    } else if (!existsSync(resolved)) {
      linkProblems.push(`${rel}: (${target}) does not exist`);
    } else if (anchor && resolved.endsWith('.md') && !headingIds(readFileSync(resolved, 'utf8')).has(anchor)) {
      linkProblems.push(`${rel}: (${target}) names no heading of ${relative(repoRoot, resolved)}`);
    }
  }
  const named = new Set();
  for (const [name] of text.matchAll(/(?<![\w/.-])\/work\/[\w./-]+|shared\/spec\/[\w./-]+/g)) named.add(name);
  for (const [, name] of text.matchAll(/(?<![\w-])([\w-]+\.md)\b/g)) if (!mdNames.has(name)) named.add(name);
  for (const name of named) outsideProblems.push(`${rel} names ${name}, which is not in the repository`);
}
console.log(`check-docs: ${markdown.length} markdown files`);
group('markdown links resolve inside the repository', linkProblems, `${links} relative links`);
group('no doc names a file outside the repository', outsideProblems, `${markdown.length} files`);

// 3: the TypeDoc site.
const siteProblems = [];
const out = mkdtempSync(join(tmpdir(), 'dd-docs-site-'));
try {
  const missingBuild = publishablePackages().filter((p) => !existsSync(join(p.dir, 'dist')));
  if (missingBuild.length > 0) throw new Error(`build first (npx -y pnpm@12.4.2 build): no dist/ in ${missingBuild.map((p) => p.path).join(', ')}`);
  const typedoc = spawnSync(process.execPath, [join(repoRoot, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  const log = `${typedoc.stdout}${typedoc.stderr}`;
  if (typedoc.status !== 0) throw new Error(`typedoc exited with ${typedoc.status}:\n${log}`);
  const warnings = log.split('\n').filter((l) => l.includes('[warning]') && !/Found \d+ errors/.test(l));
  for (const w of warnings) notes.push(`typedoc: ${w.replace(/^.*\[warning\]\s*/, '')}`);

  const pages = walk(out, (name) => name.endsWith('.html'));
  const idsOf = new Map();
  const ids = (page) => {
    if (!idsOf.has(page)) idsOf.set(page, new Set([...readFileSync(page, 'utf8').matchAll(/\sid="([^"]+)"/g)].map((m) => m[1])));
    return idsOf.get(page);
  };
  let hrefs = 0;
  for (const page of pages) {
    for (const [, href] of readFileSync(page, 'utf8').matchAll(/\shref="([^"]*)"/g)) {
      if (/^[a-z][a-z+.-]*:/i.test(href) || href === '' || href === '#') continue;
      hrefs += 1;
      const [path, anchor] = href.split('#');
      const resolvedPath = path === '' ? page : resolve(dirname(page), decodeURIComponent(path));
      // A folder is served as its index.html.
      const target = existsSync(resolvedPath) && statSync(resolvedPath).isDirectory() ? join(resolvedPath, 'index.html') : resolvedPath;
      const where = `${relative(out, page)}: ${href}`;
      if (/\.md$/i.test(path)) siteProblems.push(`${where} opens a raw markdown file`);
      else if (!target.startsWith(out + sep) || !existsSync(target) || !statSync(target).isFile()) siteProblems.push(`${where} does not resolve`);
      else if (anchor && target.endsWith('.html') && !anchor.startsWith('icon-') && !ids(target).has(anchor)) siteProblems.push(`${where} names no anchor of its page`);
    }
  }
  // TSDoc comments are not docs of this checker's to fix, but the site shows them: name the pages.
  const spec = pages.filter((page) => /facts(?:\.md)? ?§|v2-rules\.md/.test(readFileSync(page, 'utf8')));
  if (spec.length > 0) notes.push(`typedoc: the TSDoc shown on ${spec.map((p) => relative(out, p)).join(', ')} cites the outside spec (facts §…)`);
  const modules = readdirSync(join(out, 'modules'));
  let entryPoints = 0;
  for (const pkg of publishablePackages()) {
    const stem = `_${pkg.name.replace(/[@/]/g, (c) => (c === '@' ? '' : '_'))}`;
    for (const subpath of Object.keys(pkg.manifest.exports ?? { '.': null }).filter((s) => s !== './package.json')) {
      entryPoints += 1;
      const page = subpath === '.' ? [`${stem}.html`, `${stem}.index.html`] : [`${stem}.${subpath.slice(2).replace(/\//g, '_')}.html`];
      if (!page.some((p) => modules.includes(p))) siteProblems.push(`${pkg.name}${subpath.slice(1)} has no page in the API site (looked for modules/${page.join(' or ')})`);
    }
  }
  const guides = readdirSync(join(out, 'documents')).length;
  group('the API site covers every entry point and its links resolve', siteProblems, `${entryPoints} entry points, ${guides} guide pages, ${hrefs} links in ${pages.length} pages`);
} catch (error) {
  group('the API site covers every entry point and its links resolve', [error instanceof Error ? error.message : String(error)], '');
} finally {
  rmSync(out, { recursive: true, force: true });
}

// 4: the figures.
const figureProblems = [];
try {
  for (const doc of quotedDocs()) {
    if (doc.handWritten.length > 0) figureProblems.push(`${doc.file} quotes figures typed by hand: ${doc.handWritten.join(', ')}`);
    if (doc.current !== doc.expected) figureProblems.push(`${doc.file} differs from ${doc.report}: run node scripts/docs-figures.mjs`);
  }
} catch (error) {
  figureProblems.push(error instanceof Error ? error.message : String(error));
}
group('benchmark figures come from the committed reports', figureProblems, quotations.flatMap((q) => q.docs).join(', '));

for (const note of notes) console.log(`      note: ${note}`);
console.log(`check-docs: ${groupsPassed} passed, ${failures.length} failed`);
process.exit(failures.length > 0 ? 1 : 0);
