'use strict';
/**
 * Stub macOS SDK libraries for cross-building the darwin packages with zig on Linux, a check
 * before the Mac builds them (scripts/build.js --platform darwin-* --zig; .ci/run).
 *
 * zig ships libSystem only. Go's standard library also links CoreFoundation and Security
 * (crypto/x509's root store) and libresolv (net's DNS), naming each function with
 * //go:cgo_import_dynamic. The stubs are text-based (TAPI v4 .tbd) libraries with each
 * library's real install name and exactly the functions the Go toolchain in use imports,
 * read from its sources: they satisfy the linker; on a Mac the real libraries are bound by
 * install name at load time. Generated, never committed.
 *
 *   node scripts/darwin.js stubs <dir>   writes <dir>/{CoreFoundation,Security}.framework/*.tbd
 *                                         and <dir>/lib/libresolv.tbd, prints <dir>
 */
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const LIBRARIES = {
  '/System/Library/Frameworks/CoreFoundation.framework/Versions/A/CoreFoundation': 'CoreFoundation.framework/CoreFoundation.tbd',
  '/System/Library/Frameworks/Security.framework/Versions/A/Security': 'Security.framework/Security.tbd',
  '/usr/lib/libresolv.9.dylib': 'lib/libresolv.tbd',
};

// Where Go's standard library imports them (Go 1.26): crypto/x509 on macOS, net's resolver.
const SOURCES = ['crypto/x509/internal/macos', 'internal/syscall/unix'];

/** @returns {Map<string, string[]>} install name -> the symbols Go imports from it */
function importedSymbols() {
  const goroot = execFileSync('go', ['env', 'GOROOT'], { encoding: 'utf8' }).trim();
  const found = new Map(Object.keys(LIBRARIES).map((lib) => [lib, new Set()]));
  for (const dir of SOURCES) {
    const full = path.join(goroot, 'src', dir);
    for (const file of fs.readdirSync(full).filter((f) => f.endsWith('.go'))) {
      const text = fs.readFileSync(path.join(full, file), 'utf8');
      for (const m of text.matchAll(/^\/\/go:cgo_import_dynamic \S+ (\S+) "([^"]+)"/gm)) {
        if (found.has(m[2])) found.get(m[2]).add(`_${m[1]}`);
      }
    }
  }
  for (const [lib, symbols] of found) {
    if (!symbols.size) throw new Error(`no symbol of ${lib} found in ${SOURCES.join(', ')} of ${goroot}: has Go moved them?`);
  }
  return new Map([...found].map(([lib, symbols]) => [lib, [...symbols].sort()]));
}

function tbd(installName, symbols) {
  const targets = '[ x86_64-macos, arm64-macos ]';
  return ['--- !tapi-tbd', 'tbd-version:     4', `targets:         ${targets}`, `install-name:    '${installName}'`,
    'current-version: 1', 'compatibility-version: 1', 'exports:', `  - targets:         ${targets}`,
    `    symbols:         [ ${symbols.join(', ')} ]`, '...', ''].join('\n');
}

/** Writes the stubs into dir; returns dir (for -F dir -L dir/lib). */
function writeStubs(dir) {
  for (const [lib, symbols] of importedSymbols()) {
    const file = path.join(dir, LIBRARIES[lib]);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, tbd(lib, symbols));
  }
  return dir;
}

module.exports = { writeStubs, importedSymbols };

if (require.main === module) {
  if (process.argv[2] !== 'stubs' || !process.argv[3]) {
    console.error('usage: node scripts/darwin.js stubs <dir>');
    process.exit(2);
  }
  console.log(writeStubs(path.resolve(process.argv[3])));
}
