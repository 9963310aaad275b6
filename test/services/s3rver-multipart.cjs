// What s3rver 3 lacks of S3's multipart API and we need to test that uploads clean up after themselves:
// AbortMultipartUpload (DELETE /bucket/key?uploadId=ID) and ListMultipartUploads (GET /bucket?uploads).
// Both work on s3rver's own store: an unfinished upload is the folder <dir>/<bucket>/._S3rver_uploads/<id>
// holding a file `key`. Installed in front of s3rver's routes by test/services/s3rver.ts.
// A fault for tests: a part upload to a key containing 'refuse-part-N' (N its part number) is answered
// 400 BadDigest, a failure no client retries.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const esc = (s) => String(s).replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

function xml(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}

module.exports = function multipart(directory) {
  return async (ctx, next) => {
    const url = new URL(ctx.url, 'http://x');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const bucket = parts[0];
    if (!bucket || bucket.includes('..')) return next();
    const uploads = path.join(directory, bucket, '._S3rver_uploads');
    if (ctx.method === 'PUT' && url.searchParams.has('uploadId') && parts.join('/').includes(`refuse-part-${url.searchParams.get('partNumber')}`)) {
      ctx.req.resume();
      return xml(ctx, 400, '<Error><Code>BadDigest</Code><Message>refused by the test service (refuse-part-N in the key)</Message></Error>');
    }
    if (ctx.method === 'DELETE' && parts.length > 1 && url.searchParams.has('uploadId')) {
      const id = url.searchParams.get('uploadId');
      const dir = path.join(uploads, id);
      if (!/^[0-9a-f]+$/.test(id) || !fs.existsSync(dir)) {
        return xml(ctx, 404, `<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message><UploadId>${esc(id)}</UploadId></Error>`);
      }
      fs.rmSync(dir, { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
    if (ctx.method === 'GET' && parts.length === 1 && url.searchParams.has('uploads')) {
      const prefix = url.searchParams.get('prefix') ?? '';
      const ids = fs.existsSync(uploads) ? fs.readdirSync(uploads).sort() : [];
      const items = [];
      for (const id of ids) {
        const keyFile = path.join(uploads, id, 'key');
        if (!fs.existsSync(keyFile)) continue;
        const key = fs.readFileSync(keyFile, 'utf8');
        if (!key.startsWith(prefix)) continue;
        const initiated = fs.statSync(keyFile).mtime.toISOString();
        items.push(`<Upload><Key>${esc(key)}</Key><UploadId>${esc(id)}</UploadId><Initiated>${initiated}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`);
      }
      return xml(ctx, 200, `<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${esc(bucket)}</Bucket><Prefix>${esc(prefix)}</Prefix><IsTruncated>false</IsTruncated>${items.join('')}</ListMultipartUploadsResult>`);
    }
    return next();
  };
};
