// IndexedDB storage: the exam history (which doubles as the submission queue) and a small
// key-value store for settings and model state. One database, opened once per page.

// queued: waiting to be sent. held: classified while no token was set; sent only once the user
// confirms (it would otherwise be attributed to whoever enters a token next). local: never sent
// (a sample exam, or the user chose to keep a held exam on this device).
import type { OutcomeBody, OutcomeVersion } from './outcome-rules.js';

export type SubmissionStatus = 'queued' | 'submitted' | 'rejected' | 'held' | 'local';
export type SampleId = 'normal' | 'suspect' | 'pathological';

export interface StoredResult {
  classIndex: number;
  probabilities: number[];
  figoClassIndex: number;
  figoRuleset: string;
  outOfDistribution: boolean;
  outOfRange: number[];
}

export interface HistoryEntry {
  id: string;                 // client_exam_id, the server's idempotency key
  createdAt: number;          // ms since epoch, when it was classified
  features: number[];         // 21 values, schema order
  patientRef?: string;
  sample?: SampleId;          // made from a sample button: a dataset row, not a patient's exam
  result: StoredResult;
  modelVersion: number;
  modelHash: string;
  status: SubmissionStatus;
  statusMessage?: string;     // server's reason for a rejection, or the last transient error
  attempts: number;
  lastAttemptAt?: number;
  submittedAt?: number;
  serverExamId?: string | number;
  agreementMatch?: boolean;  // the server's native re-evaluation agreed with this browser's
  agreementDiff?: number;    // largest absolute probability difference it found
  outcomes?: OutcomeVersion[]; // outcome versions recorded from this device or read from the server, ascending
  pendingOutcome?: OutcomeBody; // saved while the server was unreachable; sent with the queue
  outcomeError?: string;        // why the server refused the last pending outcome
}

const DB_NAME = 'fetal-health';
const DB_VERSION = 1;
let dbPromise: Promise<IDBDatabase> | null = null;

// Opens the database once; start-up calls it early so the open overlaps the runtime compile.
export function open(): Promise<IDBDatabase> {
  if (dbPromise) return dbPromise;
  dbPromise = new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains('history')) {
        const store = db.createObjectStore('history', { keyPath: 'id' });
        store.createIndex('createdAt', 'createdAt');
        store.createIndex('status', 'status');
      }
      if (!db.objectStoreNames.contains('kv')) db.createObjectStore('kv');
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  return dbPromise;
}

function done<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function store(name: 'history' | 'kv', mode: IDBTransactionMode): Promise<IDBObjectStore> {
  const db = await open();
  return db.transaction(name, mode).objectStore(name);
}

export async function kvGet<T>(key: string): Promise<T | undefined> {
  return (await done((await store('kv', 'readonly')).get(key))) as T | undefined;
}

export async function kvSet(key: string, value: unknown): Promise<void> {
  await done((await store('kv', 'readwrite')).put(value, key));
}

export async function kvDelete(key: string): Promise<void> {
  await done((await store('kv', 'readwrite')).delete(key));
}

export async function putEntry(entry: HistoryEntry): Promise<void> {
  await done((await store('history', 'readwrite')).put(entry));
}

export async function getEntry(id: string): Promise<HistoryEntry | undefined> {
  return (await done((await store('history', 'readonly')).get(id))) as HistoryEntry | undefined;
}

// Newest first.
export async function allEntries(): Promise<HistoryEntry[]> {
  const list = (await done((await store('history', 'readonly')).index('createdAt').getAll())) as HistoryEntry[];
  return list.reverse();
}

export async function entriesWithStatus(status: SubmissionStatus): Promise<HistoryEntry[]> {
  const list = (await done(
    (await store('history', 'readonly')).index('status').getAll(status),
  )) as HistoryEntry[];
  return list.sort((a, b) => a.createdAt - b.createdAt);
}
