/*
 * logits.c — the vocabulary math of a decoding step, in one home: log-sum-exp (the
 * log-softmax normaliser), the first argmax and the top k, used by the state machine (task.c:
 * the timestamp rules, the greedy and beam updates, no_speech_prob), language detection
 * (language.c) and the batched greedy decoder (transcribe/vad_batch.c).
 *
 * Reference: openai/whisper decoding.py — log_softmax over the filtered logits, argmax
 * (first maximum), logprobs.topk (ties to the lower token id).
 * Invariants: pure functions of their input; log-sum-exp sums exp over the entries that are not
 * -inf after subtracting the maximum (-inf when every entry is -inf or n == 0), in the kernels'
 * ops table (generic: double exp; avx2: vectorised float exp, double partial sums).
 */
#include "decode/decode.h"
#include "kernels/kernels.h"

#include <math.h>

double auris__decode_log_sum_exp(const float *x, int n)
{
    return auris__k_log_sum_exp(x, n); /* vectorised per ISA (kernels/ops_*.c) */
}

int auris__decode_argmax(const float *x, int n)
{
    return auris__k_argmax(x, n); /* vectorised per ISA */
}

void auris__decode_top_k(const float *x, int n, int k, int *idx)
{
    int have = 0;
    for (int i = 0; i < n; i++) {
        if (isnan(x[i]))
            continue;
        if (have == k && !(x[i] > x[idx[k - 1]]))
            continue;
        int p = have < k ? have++ : k - 1;
        while (p > 0 && x[i] > x[idx[p - 1]]) {
            idx[p] = idx[p - 1];
            p--;
        }
        idx[p] = i;
    }
    for (int i = have; i < k; i++) /* fewer than k usable entries: fill with the lowest ids */
        idx[i] = i;
}
