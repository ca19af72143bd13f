import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError, diskFullError, isDiskFull, wrap } from '../../src/core/errors';

const enospc = (path?: string): NodeJS.ErrnoException => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', ...(path ? { path } : {}) });

test('ENOSPC and EDQUOT become one BerthError naming the path, with a hint', () => {
  const e = diskFullError(enospc(), '/var/lib/berth/containers/x/container.json') as BerthError;
  assert.equal(e.code, 'ENOSPACE');
  assert.equal(e.message, 'no space left on device writing /var/lib/berth/containers/x/container.json: the disk is full');
  assert.match(e.hint ?? '', /free space on the file system holding \/var\/lib\/berth\/containers\/x\/container.json/);
  const q = diskFullError(Object.assign(new Error('EDQUOT'), { code: 'EDQUOT', path: '/own/path' }), '/other') as BerthError;
  assert.equal(q.message, 'disk quota exceeded writing /own/path: the quota is full');
  // found under a wrapper's cause too, and wrap() reports it as such
  const aborted = new BerthError('EABORTED', 'The operation was aborted', { cause: enospc('/a/b') });
  assert.ok(isDiskFull(aborted));
  assert.equal((diskFullError(aborted) as BerthError).code, 'ENOSPACE');
  assert.equal(wrap('ESYSCALL', 'writing', enospc('/a/b')).code, 'ENOSPACE');
  const other = new Error('EACCES');
  assert.equal(diskFullError(other, '/x'), other);
});
