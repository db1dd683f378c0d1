/**
 * Maximum likelihood by Nelder–Mead over log-parameters (every model parameter here is positive),
 * restarted from the best point until a restart no longer improves it, and standard errors from the
 * inverse of a finite-difference Hessian of the negative log-likelihood.
 */

export interface Minimum {
  x: number[];
  value: number;
  iterations: number;
}

function nelderMead(f: (x: number[]) => number, start: number[], options: { maxIterations?: number; tolerance?: number; step?: number } = {}): Minimum {
  const n = start.length;
  const maxIterations = options.maxIterations ?? 4000;
  const tolerance = options.tolerance ?? 1e-10;
  const step = options.step ?? 0.5;
  const value = (x: number[]) => {
    const v = f(x);
    return Number.isFinite(v) ? v : Infinity;
  };
  let simplex = [start.slice()];
  for (let i = 0; i < n; i++) {
    const point = start.slice();
    point[i] += step;
    simplex.push(point);
  }
  let values = simplex.map(value);
  let iterations = 0;
  const combine = (a: number[], b: number[], t: number) => a.map((ai, i) => ai + t * (b[i] - ai));
  for (; iterations < maxIterations; iterations++) {
    const order = values.map((_, i) => i).sort((i, j) => values[i] - values[j]);
    simplex = order.map((i) => simplex[i]);
    values = order.map((i) => values[i]);
    const spread = Math.abs(values[n] - values[0]);
    const size = Math.max(...simplex.slice(1).map((p) => Math.max(...p.map((pi, i) => Math.abs(pi - simplex[0][i])))));
    if (spread <= tolerance * (Math.abs(values[0]) + tolerance) && size < 1e-6) break;
    const centroid = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) centroid[j] += simplex[i][j] / n;
    const worst = simplex[n];
    const reflected = combine(centroid, worst, -1);
    const fr = value(reflected);
    if (fr < values[0]) {
      const expanded = combine(centroid, worst, -2);
      const fe = value(expanded);
      if (fe < fr) [simplex[n], values[n]] = [expanded, fe];
      else [simplex[n], values[n]] = [reflected, fr];
    } else if (fr < values[n - 1]) {
      [simplex[n], values[n]] = [reflected, fr];
    } else {
      const outside = fr < values[n];
      const contracted = outside ? combine(centroid, reflected, 0.5) : combine(centroid, worst, 0.5);
      const fc = value(contracted);
      if (fc < (outside ? fr : values[n])) [simplex[n], values[n]] = [contracted, fc];
      else {
        for (let i = 1; i <= n; i++) {
          simplex[i] = combine(simplex[0], simplex[i], 0.5);
          values[i] = value(simplex[i]);
        }
      }
    }
  }
  const best = values.indexOf(Math.min(...values));
  return { x: simplex[best], value: values[best], iterations };
}

/** Minimises from `start`, then restarts from the best point until a restart gains nothing. */
export function minimiseWithRestarts(f: (x: number[]) => number, start: number[], restarts = 8): Minimum {
  let best = nelderMead(f, start);
  for (let i = 0; i < restarts; i++) {
    const next = nelderMead(f, best.x, { step: 0.1 });
    const gained = best.value - next.value;
    if (next.value < best.value) best = { ...next, iterations: best.iterations + next.iterations };
    if (gained < 1e-9) break;
  }
  return best;
}

/** Standard errors from the inverse Hessian of `negLogLikelihood` at `x`; NaN where it is not invertible. */
export function standardErrors(negLogLikelihood: (x: number[]) => number, x: number[]): number[] {
  const n = x.length;
  const h = x.map((xi) => 1e-4 * Math.max(Math.abs(xi), 1e-2));
  const hessian = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const at = (di: number, si: number, dj: number, sj: number) => {
    const point = x.slice();
    point[di] += si * h[di];
    point[dj] += sj * h[dj];
    return negLogLikelihood(point);
  };
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const value = (at(i, 1, j, 1) - at(i, 1, j, -1) - at(i, -1, j, 1) + at(i, -1, j, -1)) / (4 * h[i] * h[j]);
      hessian[i][j] = hessian[j][i] = value;
    }
  }
  const inverse = invert(hessian);
  return x.map((_, i) => (inverse && inverse[i][i] > 0 ? Math.sqrt(inverse[i][i]) : NaN));
}

function invert(matrix: number[][]): number[][] | undefined {
  const n = matrix.length;
  const a = matrix.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r;
    if (Math.abs(a[pivot][col]) < 1e-300) return undefined;
    [a[col], a[pivot]] = [a[pivot], a[col]];
    const p = a[col][col];
    for (let k = 0; k < 2 * n; k++) a[col][k] /= p;
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const factor = a[r][col];
      for (let k = 0; k < 2 * n; k++) a[r][k] -= factor * a[col][k];
    }
  }
  return a.map((row) => row.slice(n));
}
