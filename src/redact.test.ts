// The one redactor: URL credentials, secret query parameters and secret variables' values are masked;
// ordinary text, and URLs without credentials, come back unchanged.
import { describe, expect, it } from 'vitest';
import { redactUrl, redactorFor } from './redact.js';

describe('redactUrl', () => {
  it('masks the userinfo password and secret query parameters, keeps the rest', () => {
    expect(redactUrl('postgres://u:pw@h/db')).toBe('postgres://u:***@h/db');
    expect(redactUrl('postgres://u@h:1/db?password=X&sslmode=require')).toBe('postgres://u@h:1/db?password=***&sslmode=require');
    expect(redactUrl('http://u:PW@127.0.0.1:9000', 'endpoint')).toBe('http://u:***@127.0.0.1:9000/');
    expect(redactUrl('http://127.0.0.1:9000')).toBe('http://127.0.0.1:9000');
  });

  it('never echoes what does not parse', () => {
    expect(redactUrl('postgres://u:p w@[bad', 'DATABASE_URL')).toBe('(DATABASE_URL, not a valid URL)');
  });
});

describe('redactorFor', () => {
  const env = {
    AWS_SECRET_ACCESS_KEY: 'abcd1234secret',
    PGPASSWORD: 'pgpw1',
    MY_API_TOKEN: 'tok-0123456789',
    SHORT_KEY: 'abc', // under 8 characters and not a known secret: a word, not a key
    DATABASE_URL: 'postgres://u:db%2Fpass@h/db',
    HOME: '/home/someone',
  };
  const redact = redactorFor(env);

  it('masks known and secret-named values wherever they appear, as written and URL-decoded', () => {
    expect(redact('key abcd1234secret and pgpw1; tok-0123456789!')).toBe('key *** and ***; ***!');
    expect(redact('password is db/pass or db%2Fpass')).toBe('password is *** or ***');
  });

  it('masks credentials in any URL and secret-looking NAME=value lines, as `env` prints them', () => {
    expect(redact('connecting to https://x:hunter22@example.org/a?token=zz ok')).toBe('connecting to https://x:***@example.org/a?token=*** ok');
    expect(redact('OTHER_PASSWORD=p1')).toBe('OTHER_PASSWORD=***');
    expect(JSON.parse(redact(JSON.stringify({ log: ['NEW_SECRET=s3cr', 'x'] })))).toEqual({ log: ['NEW_SECRET=***', 'x'] });
  });

  it('leaves ordinary text alone', () => {
    const text = 'HOME=/home/someone abc monkey=banana http://127.0.0.1:9/x?a=1 SHORT_KEY';
    expect(redact(text)).toBe(text);
  });
});
