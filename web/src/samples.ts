// Sample exams, copied from rows of the dataset (model/data/fetal_health.csv, by source line):
// line 3 is labelled Normal, line 362 Suspect, line 685 Pathological. Values in schema order.
// Exams made from them are demonstrations, never part of the clinical record: they are kept on
// this device and never submitted.
import type { SampleId } from './db.js';

export const SAMPLES: { id: SampleId; line: number; values: number[] }[] = [
  {
    id: 'normal',
    line: 3,
    values: [132, 0.006, 0, 0.006, 0.003, 0, 0, 17, 2.1, 0, 10.4, 130, 68, 198, 6, 1, 141, 136, 140, 12, 0],
  },
  {
    id: 'suspect',
    line: 362,
    values: [133, 0, 0.009, 0.003, 0, 0, 0, 64, 0.4, 25, 6.4, 15, 129, 144, 2, 0, 136, 135, 137, 0, 0],
  },
  {
    id: 'pathological',
    line: 685,
    values: [132, 0, 0, 0.002, 0.002, 0, 0.004, 37, 2.3, 0, 0, 111, 54, 165, 5, 1, 139, 136, 139, 86, -1],
  },
];

// The sample whose values these are exactly, if any (also catches a sample typed in by hand, and
// exams stored by versions of the app that did not mark samples).
export function sampleWithValues(features: readonly number[]): SampleId | undefined {
  return SAMPLES.find((s) => s.values.length === features.length && s.values.every((v, i) => v === features[i]))?.id;
}
