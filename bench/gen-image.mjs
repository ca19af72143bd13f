// Writes an OCI image layout with N layers of random-ish content (incompressible, so the
// download is as big as the data): the image bench/pull.sh pushes to a local registry.
// Usage: node bench/gen-image.mjs DIR [LAYERS=5] [MB_PER_LAYER=24]
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const [dir, layersArg = '5', mbArg = '24'] = process.argv.slice(2);
if (!dir) throw new Error('usage: node bench/gen-image.mjs DIR [LAYERS] [MB_PER_LAYER]');
const layers = Number(layersArg);
const mb = Number(mbArg);
const blobs = join(dir, 'blobs', 'sha256');
mkdirSync(blobs, { recursive: true });

const sha = (b) => createHash('sha256').update(b).digest('hex');
const putBlob = (b) => {
  const h = sha(b);
  writeFileSync(join(blobs, h), b);
  return { digest: `sha256:${h}`, size: b.length };
};

// A minimal ustar writer: one directory and a few files per layer.
function header(name, size, type) {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100);
  h.write(type === '5' ? '0000755\0' : '0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('14000000000\0', 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}
function tarOf(entries) {
  const parts = [];
  for (const e of entries) {
    parts.push(header(e.name, e.data ? e.data.length : 0, e.data ? '0' : '5'));
    if (e.data) {
      parts.push(e.data);
      const pad = (512 - (e.data.length % 512)) % 512;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

const layerDescs = [];
const diffIds = [];
for (let i = 0; i < layers; i++) {
  const files = [{ name: `data${i}/` }];
  const per = 4;
  for (let f = 0; f < per; f++) files.push({ name: `data${i}/file${f}.bin`, data: randomBytes(Math.floor((mb * 1024 * 1024) / per)) });
  const tar = tarOf(files);
  diffIds.push(`sha256:${sha(tar)}`);
  const gz = gzipSync(tar, { level: 1 });
  layerDescs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...putBlob(gz) });
}
const config = Buffer.from(JSON.stringify({
  created: new Date().toISOString(), architecture: 'amd64', os: 'linux',
  config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: diffIds },
  history: diffIds.map(() => ({ created_by: 'bench/gen-image.mjs' })),
}));
const cfg = putBlob(config);
const manifest = Buffer.from(JSON.stringify({
  schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...cfg }, layers: layerDescs,
}));
const man = putBlob(manifest);
writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
const index = { schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...man, annotations: { 'org.opencontainers.image.ref.name': 'bench' } }] };
writeFileSync(join(dir, 'index.json.tmp'), JSON.stringify(index));
renameSync(join(dir, 'index.json.tmp'), join(dir, 'index.json'));
const total = layerDescs.reduce((n, l) => n + l.size, 0);
console.log(`${layers} layers, ${(total / 1e6).toFixed(1)} MB compressed, manifest ${man.digest}`);
