import { describe, expect, it } from 'vitest';
import { abpChannelsProblem, channelMask } from './channel-plan.ts';

describe('channel plan', () => {
  it('OTAA devices have the CFList channels, ABP devices the configured ones', () => {
    expect(channelMask('OTAA', [])).toBe(0x00ff);
    expect(channelMask('ABP', [])).toBe(0x0007);
    expect(channelMask('ABP', [867_100_000, 867_300_000])).toBe(0x001f);
    expect(channelMask('ABP', new Array(20).fill(867_100_000))).toBe(0xffff);
  });

  it('checks abp_channels', () => {
    expect(abpChannelsProblem([867_100_000])).toBeUndefined();
    expect(abpChannelsProblem('x')).toMatch(/list/);
    expect(abpChannelsProblem([867.1])).toMatch(/Hz/);
    expect(abpChannelsProblem(new Array(14).fill(867_100_000))).toMatch(/at most 13/);
  });
});
