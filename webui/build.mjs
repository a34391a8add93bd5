// Bundles src/ into dist/ (index.html, app.js, app.css) with esbuild; writes only changed files
// so the CMake embed step (cmake/embed_assets.cmake) can skip unchanged assets.
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import * as esbuild from 'esbuild';

const kRoot = path.dirname(fileURLToPath(import.meta.url));
const kSrc = path.join(kRoot, 'src');
const kDist = path.join(kRoot, 'dist');
const kHljsStyles = path.join(kRoot, 'node_modules/highlight.js/styles');

function writeIfChanged(name, data) {
  const file = path.join(kDist, name);
  const bytes = Buffer.from(data);
  if (fs.existsSync(file) && fs.readFileSync(file).equals(bytes)) return;
  fs.writeFileSync(file, bytes);
  console.log(`webui: wrote dist/${name} (${bytes.length} bytes)`);
}

// highlight.js themes follow the system's light/dark choice, like the rest of the page.
function css() {
  const light = fs.readFileSync(path.join(kHljsStyles, 'github.css'), 'utf8');
  const dark = fs.readFileSync(path.join(kHljsStyles, 'github-dark.css'), 'utf8');
  const own = fs.readFileSync(path.join(kSrc, 'styles.css'), 'utf8');
  return `${own}\n@media (prefers-color-scheme: light) {\n${light}\n}\n` +
      `@media (prefers-color-scheme: dark) {\n${dark}\n}\n`;
}

async function main() {
  fs.mkdirSync(kDist, {recursive: true});
  const js = await esbuild.build({
    entryPoints: [path.join(kSrc, 'app.js')],
    bundle: true,
    format: 'esm',
    target: 'es2020',
    minify: true,
    legalComments: 'eof',  // third-party licence headers stay in the bundle
    write: false,
    logLevel: 'warning',
  });
  writeIfChanged('app.js', js.outputFiles[0].contents);
  const cssOut = await esbuild.transform(css(), {loader: 'css', minify: true, legalComments: 'eof'});
  writeIfChanged('app.css', cssOut.code);
  writeIfChanged('index.html', fs.readFileSync(path.join(kSrc, 'index.html')));
  // Files that are no longer produced must not linger in the embedded set.
  for (const f of fs.readdirSync(kDist)) {
    if (!['app.js', 'app.css', 'index.html'].includes(f)) fs.rmSync(path.join(kDist, f));
  }
}

main().catch((e) => {
  console.error(`webui build failed: ${e.message}`);
  process.exit(1);
});
