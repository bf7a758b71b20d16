/**
 * The network server's session keys, prepared once per session: every session's NwkSKey (AES-128
 * round keys and CMAC subkeys, 208 bytes) and AppSKey (round keys only, 176 bytes: it is never a
 * CMAC key) expanded into two typed arrays (lorawan/aes-key-table.ts), row = the session's slot,
 * so the MIC and the FRMPayload decryption of an uplink run straight from the table with no key
 * expansion and no cache.
 *
 * Why: with 10,000 devices heard in turn, the bounded cache of prepared keys that was here before
 * (`AesKeyCache`, session-keys-cache.ts) missed twice per uplink and re-expanded both keys: 3.5 %
 * of the gateway's CPU at 10,000 uplinks/s (bench/RESULTS.md, session 7 ns-tput). A prepared key
 * object per session instead would have been ~7 MB of live heap for every mark-compact to walk;
 * the table is 3.84 MB for 10,000 sessions in two ArrayBuffers outside the JS heap, and per
 * session only a Map entry (DevEUI → slot) and two references in two arrays.
 *
 * Kept in step with the sessions by the network server: `put` whenever a session is indexed (load
 * at start, OTAA join and re-join, ABP import and keys-file reload, a failed join's previous
 * session restored), `remove` when a session is dropped (a failed first join); the slot of a
 * DevEUI is reused by its next session, freed slots by other devices. A slot records the key
 * Buffers it was filled from (sessions never mutate their key Buffers; a re-join makes new
 * ones): a session whose Buffers are not its DevEUI's slot's — a replaced session still
 * referenced by an answer being built in the same batch as the re-join — gets its keys from a
 * small cache of prepared keys instead (`AesKeyCache`, 16 entries: the only keys without a slot).
 *
 * Secrets: rows are zeroed when a slot is freed and the whole table when the server closes
 * (`wipe`); nothing here is logged, and the table prints as a placeholder.
 */
import { inspect } from 'node:util';
import type { AesEncryptKey } from '../../lorawan/aes.ts';
import { AesKeyTable } from '../../lorawan/aes-key-table.ts';
import type { SessionKeys } from '../../lorawan/data-frame.ts';
import { AesKeyCache } from './session-keys-cache.ts';

/** What the table needs of a session (session-store.ts `Session`). */
export interface KeyedSession {
  devEui: string;
  nwkSKey: Buffer;
  appSKey: Buffer;
}

export class SessionKeyTable {
  /** NwkSKeys (MIC: with CMAC subkeys, 208 bytes a row) and AppSKeys (keystream only: 176), row = slot */
  private readonly nwkTable = new AesKeyTable();
  private readonly appTable = new AesKeyTable(0, { cmacSubkeys: false });
  private readonly slots = new Map<string, number>();
  /** the key Buffers each slot was filled from (undefined: free) */
  private readonly nwkOf: (Buffer | undefined)[] = [];
  private readonly appOf: (Buffer | undefined)[] = [];
  private readonly free: number[] = [];
  private readonly nwk = this.nwkTable.view();
  private readonly app = this.appTable.view();
  /** one object for every `keys()` call on a slot: read at once by the caller, never kept */
  private readonly both: { nwkSKey: AesEncryptKey; appSKey: AesEncryptKey } = { nwkSKey: this.nwk, appSKey: this.app };
  private readonly unslotted = new AesKeyCache(16);
  /** how many lookups found no slot for the session's keys (served by the small cache) */
  unslottedLookups = 0;

  /** Room for `sessions` sessions without growing the table (one allocation at start). */
  reserve(sessions: number): void {
    this.nwkTable.reserve(sessions);
    this.appTable.reserve(sessions);
  }

  /** Prepares the keys of `s` in its DevEUI's slot (a new one for a new DevEUI). */
  put(s: KeyedSession): void {
    let slot = this.slots.get(s.devEui);
    if (slot === undefined) {
      slot = this.free.pop() ?? this.nwkOf.length;
      this.slots.set(s.devEui, slot);
    } else if (this.nwkOf[slot] === s.nwkSKey && this.appOf[slot] === s.appSKey) return;
    this.nwkTable.set(slot, s.nwkSKey);
    this.appTable.set(slot, s.appSKey);
    this.nwkOf[slot] = s.nwkSKey;
    this.appOf[slot] = s.appSKey;
  }

  /** Frees the slot of `devEui` (its rows zeroed) for reuse. */
  remove(devEui: string): void {
    const slot = this.slots.get(devEui);
    if (slot === undefined) return;
    this.slots.delete(devEui);
    this.nwkTable.clear(slot);
    this.appTable.clear(slot);
    this.nwkOf[slot] = undefined;
    this.appOf[slot] = undefined;
    this.free.push(slot);
  }

  /** The slot holding exactly these key Buffers of `s`, or -1. */
  private slotOf(s: KeyedSession): number {
    const slot = this.slots.get(s.devEui);
    return slot !== undefined && this.nwkOf[slot] === s.nwkSKey && this.appOf[slot] === s.appSKey ? slot : -1;
  }

  /** The NwkSKey of `s` (MIC): valid until the next `nwkSKey`/`keys` call. */
  nwkSKey(s: KeyedSession): AesEncryptKey {
    const slot = this.slotOf(s);
    if (slot >= 0) return this.nwk.at(slot);
    this.unslottedLookups++;
    return this.unslotted.get(`${s.devEui}/n`, s.nwkSKey);
  }

  /**
   * Both keys of `s` (decryption, downlinks): an object valid until the next call, read at once
   * (the keys in it too: until the next `nwkSKey`/`keys` call).
   */
  keys(s: KeyedSession): SessionKeys {
    const slot = this.slotOf(s);
    if (slot >= 0) {
      this.nwk.at(slot);
      this.app.at(slot);
      return this.both;
    }
    this.unslottedLookups++;
    return { nwkSKey: this.unslotted.get(`${s.devEui}/n`, s.nwkSKey), appSKey: this.unslotted.get(`${s.devEui}/a`, s.appSKey) };
  }

  /** Sessions with a slot. */
  get size(): number {
    return this.slots.size;
  }

  /** Bytes of prepared keys held (the table's typed array). */
  get byteLength(): number {
    return this.nwkTable.byteLength + this.appTable.byteLength;
  }

  /** Zeroes every slot and forgets them all (the server is closing). */
  wipe(): void {
    this.nwkTable.wipe();
    this.appTable.wipe();
    this.slots.clear();
    this.nwkOf.length = 0;
    this.appOf.length = 0;
    this.free.length = 0;
  }

  toJSON(): string {
    return `[SessionKeyTable: ${this.size} sessions]`;
  }

  [inspect.custom](): string {
    return this.toJSON();
  }
}
