import { describe, expect, it } from 'vitest';
import { videosFailed } from './context.js';

const headline = (err: { diagnostics: readonly { message: string }[] }): string => err.diagnostics[0]!.message;

describe('videosFailed', () => {
  const failures = [
    { video: 'b.mp4', message: 'connection refused' },
    { video: 'a.mp4', message: 'truncated' },
  ];

  it('names each video, sorted, and says how many others are done', () => {
    const err = videosFailed('pull of ds', failures, 5);
    expect(headline(err)).toBe('pull of ds: 2 videos failed (a.mp4, b.mp4); the other 3 are done');
    expect(err.diagnostics.slice(1).map((d) => `${d.subject}: ${d.message}`)).toEqual(['a.mp4: truncated', 'b.mp4: connection refused']);
  });

  it('never claims others are done when every video failed', () => {
    expect(headline(videosFailed('push of ds', failures, 2))).toBe('push of ds: all 2 videos failed (a.mp4, b.mp4)');
    expect(headline(videosFailed('push of ds', failures.slice(0, 1), 1))).toBe('push of ds: 1 video failed (b.mp4)');
  });
});
