// Command ids: an id queued before for the device is found again; without an id only a DUP
// redelivery of the same topic and payload is; the table keeps the newest `max` commands.
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { commandDigest, CommandIds } from './command-ids.ts';

describe('CommandIds', () => {
  it('recognises commands delivered again', () => {
    const ids = new CommandIds(new Database(':memory:'), 3);
    const d = commandDigest('t', Buffer.from('x'));
    expect(d).not.toBe(commandDigest('t', Buffer.from('y')));
    ids.remember(10, 'd1', 'a', d);
    ids.remember(11, 'd1', undefined, commandDigest('t', Buffer.from('y')));
    expect(ids.earlier('d1', 'a', 'other', false)).toBe(10);
    expect(ids.earlier('d2', 'a', 'other', false)).toBeUndefined(); // ids are per device
    expect(ids.earlier('d1', undefined, commandDigest('t', Buffer.from('y')), false)).toBeUndefined(); // the same command sent again on purpose
    expect(ids.earlier('d1', undefined, commandDigest('t', Buffer.from('y')), true)).toBe(11); // a redelivery
    expect(ids.idOf(10)).toBe('a');
    expect(ids.idOf(11)).toBeUndefined();
    ids.remember(12, 'd1', 'b', 'z');
    ids.remember(13, 'd1', 'c', 'w');
    expect(ids.idOf(10)).toBeUndefined(); // bounded: the oldest is forgotten
    expect(ids.idOf(13)).toBe('c');
  });
});
