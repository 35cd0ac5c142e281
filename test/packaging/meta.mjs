// META.json against the PGXN meta spec 1.0.0 (https://pgxn.org/spec/) and in
// step with the extension: the control file's default_version, the install
// script, the PostgreSQL major the build targets, and the control file's
// requires.  Prints one "ok: ..." or "NOT OK: ..." line per check and exits
// 1 when any failed.  Usage: node meta.mjs ROOT PG_MAJOR
import fs from 'node:fs';
import path from 'node:path';

const [root, pgMajor] = process.argv.slice(2);
let failed = 0;
const check = (what, ok, detail = '') => {
  console.log(`${ok ? 'ok' : 'NOT OK'}: ${what}${ok || !detail ? '' : ` (${detail})`}`);
  if (!ok) failed++;
};

let meta;
try {
  meta = JSON.parse(fs.readFileSync(path.join(root, 'META.json'), 'utf8'));
  check('META.json is JSON', true);
} catch (e) {
  check('META.json is JSON', false, e.message);
  process.exit(1);
}
const control = Object.fromEntries(fs.readFileSync(path.join(root, 'pgcall.control'), 'utf8')
  .split('\n').map((l) => /^\s*([a-z_]+)\s*=\s*'?([^']*)'?\s*$/.exec(l)).filter(Boolean).map((m) => [m[1], m[2]]));

const semver = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+)?$/;
const licenses = ['agpl_3', 'apache_1_1', 'apache_2_0', 'artistic_1', 'artistic_2', 'bsd', 'freebsd',
  'gfdl_1_2', 'gfdl_1_3', 'gpl_1', 'gpl_2', 'gpl_3', 'lgpl_2_1', 'lgpl_3_0', 'mit', 'mozilla_1_0',
  'mozilla_1_1', 'openssl', 'perl_5', 'postgresql', 'qpl_1_0', 'ssleay', 'sun', 'zlib',
  'open_source', 'restricted', 'unrestricted', 'unknown'];

for (const k of ['name', 'abstract', 'maintainer', 'license', 'provides', 'meta-spec', 'version']) {
  check(`META.json has the required key ${k}`, meta[k] !== undefined);
}
check('name is a PGXN name (2+ characters, no /\\ or blanks)', /^[^\s/\\]{2,}$/.test(meta.name ?? ''));
check('meta-spec is version 1.0.0', meta['meta-spec']?.version === '1.0.0');
check('version is semantic (x.y.z)', semver.test(meta.version ?? ''), meta.version);
check('license is one the spec names', typeof meta.license === 'string' ? licenses.includes(meta.license)
  : Object.keys(meta.license ?? {}).length > 0, JSON.stringify(meta.license));
check('maintainer is a string or a list of them', typeof meta.maintainer === 'string' ||
  (Array.isArray(meta.maintainer) && meta.maintainer.every((m) => typeof m === 'string')));

const ext = meta.provides?.[control.module_pathname?.replace('$libdir/', '') ?? 'pgcall'];
check('provides names the extension', !!ext);
check('the release version is the control file\'s default_version',
  meta.version === control.default_version, `${meta.version} vs ${control.default_version}`);
check('provides.pgcall.version is the control file\'s default_version',
  ext?.version === control.default_version, `${ext?.version} vs ${control.default_version}`);
// The install script of that version, or (while it has none) the install
// script it is reached from by update scripts.
const reaches = (file) => {
  const m = /^sql\/pgcall--([0-9.]+)\.sql$/.exec(file ?? '');
  if (!m || !fs.existsSync(path.join(root, file))) return false;
  for (let v = m[1], seen = 0; seen < 50; seen++) {
    if (v === control.default_version) return true;
    const next = fs.readdirSync(path.join(root, 'sql'))
      .map((f) => new RegExp(`^pgcall--${v.replace(/\./g, '\\.')}--([0-9.]+)\\.sql$`).exec(f)).find(Boolean);
    if (!next) return false;
    v = next[1];
  }
  return false;
};
const own = `sql/pgcall--${control.default_version}.sql`;
if (fs.existsSync(path.join(root, own))) {
  check('provides.pgcall.file is the install script of that version', ext?.file === own, `${ext?.file} vs ${own}`);
} else {
  check('provides.pgcall.file is the install script of an older version that updates to it',
    reaches(ext?.file), ext?.file);
}
check('provides.pgcall.docfile exists', !ext?.docfile || fs.existsSync(path.join(root, ext.docfile)), ext?.docfile);
check('provides.pgcall.abstract is set', typeof ext?.abstract === 'string' && ext.abstract.length > 0);
for (const [name, p] of Object.entries(meta.provides ?? {})) {
  check(`provides.${name} has file and a semantic version`, typeof p.file === 'string' && semver.test(p.version ?? ''));
}

const phases = ['configure', 'build', 'test', 'runtime', 'develop'];
const relations = ['requires', 'recommends', 'suggests', 'conflicts'];
for (const [phase, rels] of Object.entries(meta.prereqs ?? {})) {
  check(`prereqs phase ${phase} is one the spec names`, phases.includes(phase));
  for (const [rel, deps] of Object.entries(rels)) {
    check(`prereqs.${phase}.${rel} is a relation the spec names`, relations.includes(rel));
    for (const [dep, v] of Object.entries(deps)) {
      check(`prereqs.${phase}.${rel}.${dep} is a version or 0`, v === 0 || v === '0' || semver.test(String(v)), String(v));
    }
  }
}
const pg = meta.prereqs?.runtime?.requires?.PostgreSQL;
check(`runtime requires PostgreSQL ${pgMajor}`, typeof pg === 'string' && pg.split('.')[0] === pgMajor, pg);
const controlRequires = (control.requires ?? '').split(',').map((s) => s.trim()).filter(Boolean).sort();
const metaRequires = Object.keys(meta.prereqs?.runtime?.requires ?? {}).filter((k) => k !== 'PostgreSQL').sort();
check('runtime requires exactly the control file\'s requires', JSON.stringify(controlRequires) === JSON.stringify(metaRequires),
  `${controlRequires} vs ${metaRequires}`);
for (const [kind, r] of Object.entries(meta.resources ?? {})) {
  check(`resources.${kind} is a URL or has web/url`, typeof r === 'string' || !!(r.web || r.url || r.mailto));
}
process.exit(failed ? 1 : 0);
