// Sample exams, copied from rows of the dataset (model/data/fetal_health.csv, by source line):
// line 3 is labelled Normal, line 362 Suspect, line 685 Pathological. Values in schema order.
export const SAMPLES: { id: 'normal' | 'suspect' | 'pathological'; line: number; values: number[] }[] = [
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
