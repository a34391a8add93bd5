// Logit comparison metrics and greedy-continuation checks shared by the peer tests.
import {argmax} from './llama_ref.mjs';

// Differences of `got` from `ref` (both [n_vocab]): absolute, and relative to the RMS of the
// reference logits over the vocabulary, so one tolerance serves models of any weight scale.
export function logitDiff(ref, got) {
  if (ref.length !== got.length) {
    throw new Error(
        `logit vectors differ in length: llama.cpp ${ref.length}, silica ${got.length}`);
  }
  let maxAbs = 0;
  let sumSq = 0;
  let refSq = 0;
  let nonFinite = 0;
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(got[i])) nonFinite++;
    const d = Math.abs(got[i] - ref[i]);
    if (d > maxAbs || Number.isNaN(d)) maxAbs = Number.isNaN(d) ? Infinity : d;
    sumSq += d * d;
    refSq += ref[i] * ref[i];
  }
  const rmsAbs = Math.sqrt(sumSq / ref.length);
  const refRms = Math.sqrt(refSq / ref.length);
  return {maxAbs, rmsAbs, refRms, maxRel: maxAbs / refRms, rmsRel: rmsAbs / refRms, nonFinite};
}

// First index where the two id lists differ, or -1.
export function firstDivergence(a, b) {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++)
    if (a[i] !== b[i]) return i;
  return -1;
}

// How far ahead (in units of the reference logits' RMS) the reference's choice `refTok` was of
// silica's `gotTok`: below the logit tolerance the two are a tie that numerics may break either
// way, above it silica chose a token llama.cpp clearly ranks lower.
export function tieMargin(refLogits, refTok, gotTok) {
  const {refRms} = logitDiff(refLogits, refLogits);
  return (refLogits[refTok] - refLogits[gotTok]) / refRms;
}

export function formatRow(cells, widths) {
  return cells.map((c, i) => String(c).padEnd(widths[i])).join(' ');
}

export {argmax};
