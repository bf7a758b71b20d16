/**
 * Messages between sink `local` (main thread) and its store worker (store-worker.ts). Every
 * request carries a sequence number; the worker answers each once, in order for `apply`.
 */
import type { WorkerTiming } from './batch-timing.ts';
import type { RegistryDeviceInput, StoreEvent, StoreOptions } from './local-store.ts';

export interface StoreWorkerData {
  store: StoreOptions;
}

export type StoreRequest =
  /**
   * `batch`: the records in store-batch.ts's encoding (transferred, not copied). `events`:
   * whether anyone listens (the pages' SSE); if not, the worker sends none back.
   */
  | { op: 'apply'; seq: number; batch: ArrayBuffer; events: boolean }
  | { op: 'registry'; seq: number; devices: readonly RegistryDeviceInput[] }
  /** Prune in at most `maxSteps` steps of at most `maxRows` deleted rows, yielding to applies between steps. */
  | { op: 'prune'; seq: number; now: number; maxRows: number; maxSteps: number }
  | { op: 'close'; seq: number };

/** A record the store could not take; skipped alone (its batch went in without it). */
export interface SkippedRecord {
  logId: number;
  devEui: unknown;
  reason: string;
}

export interface PruneResult {
  readings: number;
  deleted: number;
  /** devices visited for their frames */
  devices: number;
  steps: number;
  /** false: cut short at maxSteps, the rest is for the next run */
  complete: boolean;
  /** the longest one step held the store's write lock */
  longestStepMs: number;
}

export type StoreReply =
  | { seq: 0; op: 'ready' }
  /** `timing`: when an apply started and committed in the worker (batch-timing.ts) */
  | { seq: number; ok: true; events?: StoreEvent[]; skipped?: SkippedRecord[]; prune?: PruneResult; timing?: WorkerTiming }
  /** `code`: SQLite's error code when the store itself failed (disk full …) */
  | { seq: number; ok: false; message: string; code?: string };
