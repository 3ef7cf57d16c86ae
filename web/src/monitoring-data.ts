// The monitoring API's answer (GET /api/v1/monitoring, auditor and admin; docs/api.md) as the
// dashboard reads it, and the request for it. Windows are by exam time (client_time, UTC days).

export type Verdict = 'ok' | 'warn' | 'alert';
type Interval = [number, number];

export interface MonitoringWindow {
  start: string;
  end: string;
  exams: number;
  class_mix: { client: number[]; server: number[] };
  mean_probabilities: number[];
  ood: { rate: number; mean_distance: number | null };  // null: no exam had an OOD reference
  out_of_range_share: number;
  warning_share: number;
  figo_disagreement_rate: number;
  client_server_disagreement: {
    count: number;
    by_model_version: { model_version: number; count: number }[];
    by_runtime_build: { runtime_build: string | null; count: number }[];  // null: none sent
  };
  drift: {
    exams?: number;
    enough_data?: boolean;  // false: fewer exams than thresholds.min_drift_exams, every verdict ok
    features: { key: string; psi: number | null; js: number | null; verdict: Verdict }[];
    prediction: { chi2: number | null; p_value: number | null; verdict: Verdict };
    verdict: Verdict;
  } | null;
  outcomes: { count: number; share: number };
  performance: {
    accuracy: number; accuracy_ci: Interval; macro_f1: number; recall: (number | null)[]; confusion: number[][]; ece: number;
  } | null;
  estimated: { accuracy: number; accuracy_ci: Interval; recall: (number | null)[] } | null;
}

export interface Monitoring {
  from: string;
  to: string;
  window: 'day' | 'week';
  filters: { model_version: number | null; submitted_by: string | null };
  reference: { model_version: number | null; available: boolean };
  thresholds: {
    psi_warn: number; psi_alert: number; js_alert: number; chi2_p_alert: number; ood_rate_alert: number; disagreement_alert: number;
    min_drift_exams?: number;
  };
  windows: MonitoringWindow[];
}

export interface MonitoringQuery {
  from?: string;
  to?: string;
  window?: 'day' | 'week';
  model_version?: string;
  submitted_by?: string;
}

export type MonitoringResult =
  | { kind: 'ok'; data: Monitoring }
  | { kind: 'error'; status: number; message: string }
  | { kind: 'unreachable' };

// Only the parameters that were given: the server refuses empty or repeated ones.
export function monitoringUrl(q: MonitoringQuery): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && String(v).trim() !== '') params.set(k, String(v).trim());
  const query = params.toString();
  return `api/v1/monitoring${query ? `?${query}` : ''}`;
}

export async function fetchMonitoring(q: MonitoringQuery, token: string): Promise<MonitoringResult> {
  let r: Response;
  try {
    r = await fetch(monitoringUrl(q), { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
  } catch {
    return { kind: 'unreachable' };
  }
  const body = await r.json().catch(() => null);
  if (r.ok && body && Array.isArray((body as Monitoring).windows)) return { kind: 'ok', data: body as Monitoring };
  const err = (body as { error?: { message?: string; field?: string } } | null)?.error;
  return { kind: 'error', status: r.status, message: err?.message ?? `HTTP ${r.status}` };
}

// Sums over the windows shown: exams, disagreements by runtime build and by model version.
export function totals(m: Monitoring): {
  exams: number; disagreements: number; byBuild: Map<string | null, number>; byVersion: Map<number, number>; outcomes: number;
} {
  const byBuild = new Map<string | null, number>();
  const byVersion = new Map<number, number>();
  let exams = 0, disagreements = 0, outcomes = 0;
  for (const w of m.windows) {
    exams += w.exams;
    outcomes += w.outcomes.count;
    disagreements += w.client_server_disagreement.count;
    for (const b of w.client_server_disagreement.by_runtime_build) byBuild.set(b.runtime_build, (byBuild.get(b.runtime_build) ?? 0) + b.count);
    for (const v of w.client_server_disagreement.by_model_version) byVersion.set(v.model_version, (byVersion.get(v.model_version) ?? 0) + v.count);
  }
  return { exams, disagreements, byBuild, byVersion, outcomes };
}
