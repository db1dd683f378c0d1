/** A journey's graph, without zod, so the console draws it with the server's own reading of the steps. */
import type { Step, StepInput } from './journeys.ts';

/** Where a step leads (a send, wait, tag or task without `next` ends the journey). */
export function nextSteps(step: Step | StepInput): string[] {
  switch (step.type) {
    case 'branch':
      return [step.yes, step.no];
    case 'split':
      return step.branches.map((b) => b.next);
    case 'exit':
      return [];
    default:
      return step.next ? [step.next] : [];
  }
}
