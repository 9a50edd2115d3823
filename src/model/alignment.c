/*
 * alignment.c — the alignment heads the reference publishes for each official model: the
 * cross-attention heads whose weights follow the audio-text alignment (used for word timings).
 *
 * Reference (facts only): openai/whisper whisper/__init__.py _ALIGNMENT_HEADS (base85 + gzip of
 * a bool array [n_text_layer][n_text_head]), decoded by tests/reference/gen_alignment.py into the
 * (layer, head) lists below; "large" is large-v3 and "turbo" is large-v3-turbo, as there.
 * Invariants: pairs are sorted row-major and lie inside their model's decoder shape.
 */
#include "model/model.h"

#define MAX_PAIRS 23

struct heads {
    const char *name;
    int n_layer, n_head, n_pairs;
    uint8_t pairs[MAX_PAIRS][2];
};

static const struct heads TABLE[] = {
    {"tiny.en", 4, 6, 8,
        {{1, 0}, {2, 0}, {2, 5}, {3, 0}, {3, 1}, {3, 2}, {3, 3}, {3, 4}}},
    {"tiny", 4, 6, 6,
        {{2, 2}, {3, 0}, {3, 2}, {3, 3}, {3, 4}, {3, 5}}},
    {"base.en", 6, 8, 5,
        {{3, 3}, {4, 7}, {5, 1}, {5, 5}, {5, 7}}},
    {"base", 6, 8, 8,
        {{3, 1}, {4, 2}, {4, 3}, {4, 7}, {5, 1}, {5, 2}, {5, 4}, {5, 6}}},
    {"small.en", 12, 12, 19,
        {{6, 6}, {7, 0}, {7, 3}, {7, 8}, {8, 2}, {8, 5}, {8, 7}, {9, 0},
        {9, 4}, {9, 8}, {9, 10}, {10, 0}, {10, 1}, {10, 2}, {10, 3}, {10, 6},
        {10, 11}, {11, 2}, {11, 4}}},
    {"small", 12, 12, 10,
        {{5, 3}, {5, 9}, {8, 0}, {8, 4}, {8, 7}, {8, 8}, {9, 0}, {9, 7},
        {9, 9}, {10, 5}}},
    {"medium.en", 24, 16, 18,
        {{11, 4}, {14, 1}, {14, 12}, {14, 14}, {15, 4}, {16, 0}, {16, 4}, {16, 9},
        {17, 12}, {17, 14}, {18, 7}, {18, 10}, {18, 15}, {20, 0}, {20, 3}, {20, 9},
        {20, 14}, {21, 12}}},
    {"medium", 24, 16, 6,
        {{13, 15}, {15, 4}, {15, 15}, {16, 1}, {20, 0}, {23, 4}}},
    {"large-v1", 32, 20, 9,
        {{9, 19}, {11, 2}, {11, 4}, {11, 17}, {22, 7}, {22, 11}, {22, 17}, {23, 2},
        {23, 15}}},
    {"large-v2", 32, 20, 23,
        {{10, 12}, {13, 17}, {16, 11}, {16, 12}, {16, 13}, {17, 15}, {17, 16}, {18, 4},
        {18, 11}, {18, 19}, {19, 11}, {21, 2}, {21, 3}, {22, 3}, {22, 9}, {22, 12},
        {23, 5}, {23, 7}, {23, 13}, {25, 5}, {26, 1}, {26, 12}, {27, 15}}},
    {"large-v3", 32, 20, 10,
        {{7, 0}, {10, 17}, {12, 18}, {13, 12}, {16, 1}, {17, 14}, {19, 11}, {21, 4},
        {24, 1}, {25, 6}}},
    {"large", 32, 20, 10,
        {{7, 0}, {10, 17}, {12, 18}, {13, 12}, {16, 1}, {17, 14}, {19, 11}, {21, 4},
        {24, 1}, {25, 6}}},
    {"large-v3-turbo", 4, 20, 6,
        {{2, 4}, {2, 11}, {3, 3}, {3, 6}, {3, 11}, {3, 14}}},
    {"turbo", 4, 20, 6,
        {{2, 4}, {2, 11}, {3, 3}, {3, 6}, {3, 11}, {3, 14}}},
};

int auris__alignment_table(const char *name, int *n_text_layer, int *n_text_head,
                           const uint8_t (**pairs)[2], int *n_pairs)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < AURIS_ARRAY_LEN(TABLE); i++) {
        if (strcmp(TABLE[i].name, name) == 0) {
            *n_text_layer = TABLE[i].n_layer;
            *n_text_head = TABLE[i].n_head;
            *pairs = TABLE[i].pairs;
            *n_pairs = TABLE[i].n_pairs;
            return 0;
        }
    }
    return -1;
}

int auris__model_alignment_heads(const auris_model *model, int *layer, int *head, int max)
{
    if (!model || !model->alignment_heads)
        return 0;
    const int nl = model->dims.n_text_layer, nh = model->dims.n_text_head;
    int n = 0;
    for (int l = 0; l < nl; l++) {
        for (int h = 0; h < nh; h++) {
            if (!model->alignment_heads[l * nh + h])
                continue;
            if (n < max && layer && head) {
                layer[n] = l;
                head[n] = h;
            }
            n++;
        }
    }
    return n;
}
