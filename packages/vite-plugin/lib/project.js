/**
 * Where Daebug's files go for a Vite config, and the command line that started the dev server
 * (written into the stopped registry as the way to start it again).
 */
import fs from 'node:fs';
import path from 'node:path';

/**
 * The project root: the folder of the Vite config file; for an inline config (Astro, Nuxt and
 * other frameworks create their Vite servers without a config file), the nearest folder at or
 * above Vite's root that holds a `package.json`; else Vite's root. The plugin's `root` option
 * is resolved against it.
 * @param {{ configFile?: string | false, root: string }} config
 */
export function projectRoot(config) {
  if (config.configFile) return path.dirname(config.configFile);
  let dir = path.resolve(config.root);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(config.root);
    dir = parent;
  }
}

/**
 * The command that started this process, as a user would type it again: `npx <bin> <args>` for
 * a package's command (`vite --port 5174`, `astro dev`, `nuxt dev`, `react-router dev`), else
 * `node <script> <args>`. Arguments are quoted when they need it.
 * @param {string[]} [argv]
 * @param {string} [cwd]
 */
export function commandLine(argv = process.argv, cwd = process.cwd()) {
  const script = argv[1];
  const args = argv.slice(2).map(quote);
  if (!script) return 'npx vite';
  const norm = script.split(path.sep).join('/');
  const bin = binName(norm);
  if (bin) return ['npx', bin, ...args].join(' ');
  const rel = path.relative(cwd, script) || script;
  return ['node', quote(rel), ...args].join(' ');
}

/** `…/node_modules/.bin/nuxt` → `nuxt`; `…/node_modules/vite/bin/vite.js` → `vite`. */
function binName(norm) {
  let m = /\/node_modules\/\.bin\/([^/]+)$/.exec(norm);
  if (m) return m[1];
  m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(.+)$/.exec(norm);
  if (!m) return null;
  const [, pkg, file] = m;
  try {
    const dir = norm.slice(0, norm.length - file.length - 1);
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const bins = typeof meta.bin === 'string' ? { [pkg.split('/').pop()]: meta.bin } : meta.bin ?? {};
    for (const [name, target] of Object.entries(bins)) {
      if (path.posix.normalize(target) === path.posix.normalize(file)) return name;
    }
  } catch {
    // not a package we can read: fall through
  }
  return null;
}

function quote(arg) {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${String(arg).replace(/'/g, `'\\''`)}'`;
}
