/*
 * hf.c — Hugging Face WhisperForConditionalGeneration checkpoints: config.json, model.safetensors
 * (or model.safetensors.index.json and its shards) and the tokenizer files, read into a
 * struct auris__checkpoint under Whisper's own tensor names.
 *
 * Reference (facts only): HF transformers' convert_openai_to_hf.py and whisper.cpp's
 * models/convert-h5-to-ggml.py (the name correspondence: model.encoder.layers.N.self_attn.q_proj
 * = encoder.blocks.N.attn.query, fc1 = mlp.0, final_layer_norm = mlp_ln, encoder_attn =
 * cross_attn, embed_positions = positional_embedding, embed_tokens = token_embedding, layer_norm
 * = ln_post / ln; proj_out is tied to embed_tokens); WhisperConfig's field names (num_mel_bins,
 * d_model, encoder_layers, ...); GPT-2's bytes_to_unicode alphabet used by vocab.json.
 * Invariants: only files inside the model's directory with plain names are opened; every shard
 * is mapped once and registered with the model; small JSON files are read with a size bound;
 * a tensor name that maps onto nothing of Whisper's is an error naming it.
 */
#include "model/model.h"
#include "tokenizer/tokenizer.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define MAX_JSON_FILE ((long)64 << 20)
#define MAX_SHARDS 256

/* ---- paths and small files ---------------------------------------------------------------- */

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int is_reg(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int auris__is_hf_path(const char *path)
{
    return path && (is_dir(path) || ends_with(path, ".json") || ends_with(path, ".safetensors"));
}

/* `dir`/`name` into buf; 0 when it does not fit. */
static int join(char *buf, size_t cap, const char *dir, const char *name)
{
    int w = snprintf(buf, cap, "%s/%s", dir, name);
    return w > 0 && (size_t)w < cap;
}

/* Reads a whole (small) file, NUL-terminated; *buf is malloc'd. */
static enum auris_err read_small(const char *path, char **buf, size_t *len,
                                 struct auris_error *err)
{
    *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return auris__fail(err, errno == ENOENT ? AURIS_ERR_NOT_FOUND : AURIS_ERR_IO,
                           "cannot open %s: %s", path, strerror(errno));
    enum auris_err rc = AURIS_OK;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
        rc = auris__fail(err, AURIS_ERR_IO, "cannot read %s", path);
    } else if (n > MAX_JSON_FILE) {
        rc = auris__fail(err, AURIS_ERR_FORMAT, "%s: %ld bytes is too large", path, n);
    } else if (!(*buf = malloc((size_t)n + 1))) {
        rc = auris__fail(err, AURIS_ERR_NOMEM, "out of memory reading %s", path);
    } else if (fread(*buf, 1, (size_t)n, f) != (size_t)n) {
        rc = auris__fail(err, AURIS_ERR_IO, "cannot read %s", path);
    } else {
        (*buf)[n] = '\0';
        *len = (size_t)n;
    }
    fclose(f);
    if (rc) {
        free(*buf);
        *buf = NULL;
    }
    return rc;
}

static enum auris_err read_json(const char *path, cJSON **out, struct auris_error *err)
{
    char *text = NULL;
    size_t len = 0;
    enum auris_err rc = read_small(path, &text, &len, err);
    if (rc)
        return rc;
    *out = cJSON_ParseWithLength(text, len);
    free(text);
    if (!*out || !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        return auris__fail(err, AURIS_ERR_FORMAT, "%s is not a JSON object", path);
    }
    return AURIS_OK;
}

/* ---- config.json ---------------------------------------------------------------------------- */

static enum auris_err read_config(const char *dir, struct auris_model_dims *d,
                                  struct auris_error *err)
{
    char path[4096];
    cJSON *c = NULL;
    if (!join(path, sizeof path, dir, "config.json"))
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "path too long");
    enum auris_err rc = read_json(path, &c, err);
    if (rc)
        return rc;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(c, "model_type");
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(c, "activation_function");
    const struct {
        const char *key;
        int *dst;
    } f[] = {
        {"num_mel_bins", &d->n_mels},          {"max_source_positions", &d->n_audio_ctx},
        {"d_model", &d->n_audio_state},        {"encoder_attention_heads", &d->n_audio_head},
        {"encoder_layers", &d->n_audio_layer}, {"vocab_size", &d->n_vocab},
        {"max_target_positions", &d->n_text_ctx}, {"decoder_attention_heads", &d->n_text_head},
        {"decoder_layers", &d->n_text_layer},
    };
    if (mt && (!cJSON_IsString(mt) || strcmp(mt->valuestring, "whisper") != 0)) {
        rc = auris__fail(err, AURIS_ERR_UNSUPPORTED, "config.json: model_type is not \"whisper\"");
        goto done;
    }
    if (act && (!cJSON_IsString(act) || strcmp(act->valuestring, "gelu") != 0)) {
        rc = auris__fail(err, AURIS_ERR_UNSUPPORTED,
                         "config.json: activation_function is not \"gelu\"");
        goto done;
    }
    for (size_t i = 0; i < AURIS_ARRAY_LEN(f); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, f[i].key);
        if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e6 ||
            v->valuedouble != (double)(int)v->valuedouble) {
            rc = auris__fail(err, AURIS_ERR_FORMAT, "config.json: %s is missing or not a positive "
                             "integer", f[i].key);
            goto done;
        }
        *f[i].dst = (int)v->valuedouble;
    }
    d->n_text_state = d->n_audio_state;
done:
    cJSON_Delete(c);
    return rc;
}

/* ---- tensor names --------------------------------------------------------------------------- */

/* Whisper's name for a HF tensor name; 0 on success, 1 for proj_out.weight (tied), -1 when
 * the name means nothing to Whisper. */
static int map_name(const char *hf, char *out, size_t cap)
{
    static const char *const sub[][2] = {
        {"self_attn.q_proj.", "attn.query."},
        {"self_attn.k_proj.", "attn.key."},
        {"self_attn.v_proj.", "attn.value."},
        {"self_attn.out_proj.", "attn.out."},
        {"self_attn_layer_norm.", "attn_ln."},
        {"encoder_attn.q_proj.", "cross_attn.query."},
        {"encoder_attn.k_proj.", "cross_attn.key."},
        {"encoder_attn.v_proj.", "cross_attn.value."},
        {"encoder_attn.out_proj.", "cross_attn.out."},
        {"encoder_attn_layer_norm.", "cross_attn_ln."},
        {"fc1.", "mlp.0."},
        {"fc2.", "mlp.2."},
        {"final_layer_norm.", "mlp_ln."},
    };
    if (!strcmp(hf, "proj_out.weight"))
        return 1;
    if (!strncmp(hf, "model.", 6))
        hf += 6;
    const char *stack;
    if (!strncmp(hf, "encoder.", 8))
        stack = "encoder";
    else if (!strncmp(hf, "decoder.", 8))
        stack = "decoder";
    else
        return -1;
    const char *r = hf + 8;
    const int enc = stack[0] == 'e';
    const char *res = NULL, *tail = NULL;
    if (!strcmp(r, "embed_positions.weight")) {
        res = "positional_embedding";
        tail = "";
    } else if (!enc && !strcmp(r, "embed_tokens.weight")) {
        res = "token_embedding.";
        tail = "weight";
    } else if (!strncmp(r, "layer_norm.", 11)) {
        res = enc ? "ln_post." : "ln.";
        tail = r + 11;
    } else if (enc && (!strncmp(r, "conv1.", 6) || !strncmp(r, "conv2.", 6))) {
        int w = snprintf(out, cap, "%s.%s", stack, r);
        return (!strcmp(r + 6, "weight") || !strcmp(r + 6, "bias")) && w > 0 && (size_t)w < cap
                   ? 0 : -1;
    } else if (!strncmp(r, "layers.", 7)) {
        const char *p = r + 7;
        int layer = 0, digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 5) {
            layer = layer * 10 + (*p++ - '0');
            digits++;
        }
        if (!digits || *p != '.' || (digits > 1 && p[-digits] == '0'))
            return -1;
        p++;
        for (size_t i = 0; i < AURIS_ARRAY_LEN(sub); i++) {
            size_t k = strlen(sub[i][0]);
            if (strncmp(p, sub[i][0], k) != 0 || (enc && sub[i][1][0] == 'c'))
                continue;
            const char *t = p + k;
            if (strcmp(t, "weight") != 0 && strcmp(t, "bias") != 0)
                return -1;
            int w = snprintf(out, cap, "%s.blocks.%d.%s%s", stack, layer, sub[i][1], t);
            return w > 0 && (size_t)w < cap ? 0 : -1;
        }
        return -1;
    }
    if (!res || (strcmp(tail, "") && strcmp(tail, "weight") && strcmp(tail, "bias")))
        return -1;
    int w = snprintf(out, cap, "%s.%s%s", stack, res, tail);
    return w > 0 && (size_t)w < cap ? 0 : -1;
}

/* ---- weights -------------------------------------------------------------------------------- */

struct gather {
    struct auris__checkpoint *ck;
    int cap;
    struct auris__st_tensor proj_out; /* proj_out.weight when present */
    int has_proj_out;
    const cJSON *weight_map;          /* sharded: name -> file, else NULL */
    const char *shard;                /* file name of the shard being read */
};

static enum auris_err add_tensor(struct gather *g, const struct auris__st_tensor *st,
                                 struct auris_error *err)
{
    struct auris__checkpoint *ck = g->ck;
    if (g->weight_map) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(g->weight_map, st->name);
        if (!cJSON_IsString(f) || strcmp(f->valuestring, g->shard) != 0)
            return auris__fail(err, AURIS_ERR_FORMAT,
                               "tensor '%s' is in %s but the index does not place it there",
                               st->name, g->shard);
    }
    char name[96];
    int m = map_name(st->name, name, sizeof name);
    if (m < 0)
        return auris__fail(err, AURIS_ERR_FORMAT, "unexpected Hugging Face tensor '%s'", st->name);
    if (m == 1) {
        if (g->has_proj_out)
            return auris__fail(err, AURIS_ERR_FORMAT, "tensor '%s' appears more than once", st->name);
        g->proj_out = *st;
        g->has_proj_out = 1;
        return AURIS_OK;
    }
    if (ck->n_tensors == g->cap) {
        int cap = g->cap ? g->cap * 2 : 256;
        struct auris__raw_tensor *t = realloc(ck->tensors, (size_t)cap * sizeof *t);
        if (!t)
            return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
        ck->tensors = t;
        g->cap = cap;
    }
    struct auris__raw_tensor *t = &ck->tensors[ck->n_tensors++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->type = st->dtype == AURIS__ST_F32 ? AURIS_DT_F32 : AURIS_DT_F16;
    t->is_bf16 = st->dtype == AURIS__ST_BF16;
    t->n_dims = st->n_dims;
    for (int i = 0; i < 4; i++)
        t->ne[i] = st->ne[i];
    t->data = st->data;
    return AURIS_OK;
}

/* Maps one safetensors file, registers the map with the model and adds its tensors. */
static enum auris_err read_shard(const char *path, auris_model *m, struct gather *g,
                                 struct auris_error *err)
{
    struct auris__mapping map = {0};
    enum auris_err rc = auris__map_file(path, &map, err);
    if (rc)
        return rc;
    if (auris__model_add_map(m, map))
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    struct auris__st_tensor *ts = NULL;
    int n = 0;
    struct auris_error inner = {0};
    if ((rc = auris__safetensors_parse(map.data, map.size, &ts, &n, &inner)))
        return auris__fail(err, rc, "%s: %s", path, inner.message);
    for (int i = 0; i < n && !rc; i++)
        rc = add_tensor(g, &ts[i], err);
    free(ts);
    return rc;
}

/* A shard name from the index: a plain file name in the model's directory. */
static int plain_name(const char *s)
{
    return *s && !strchr(s, '/') && !strchr(s, '\\') && strcmp(s, ".") && strcmp(s, "..") &&
           ends_with(s, ".safetensors");
}

static enum auris_err read_index(const char *dir, const char *index, auris_model *m,
                                 struct gather *g, struct auris_error *err)
{
    cJSON *root = NULL;
    enum auris_err rc = read_json(index, &root, err);
    if (rc)
        return rc;
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    const char *files[MAX_SHARDS];
    int n_files = 0, n_names = 0;
    if (!cJSON_IsObject(wm)) {
        rc = auris__fail(err, AURIS_ERR_FORMAT, "%s has no weight_map object", index);
        goto done;
    }
    for (const cJSON *e = wm->child; e; e = e->next, n_names++) {
        if (!cJSON_IsString(e) || !plain_name(e->valuestring)) {
            rc = auris__fail(err, AURIS_ERR_FORMAT, "%s: tensor '%s' is placed in an invalid file",
                             index, e->string ? e->string : "?");
            goto done;
        }
        int k = 0;
        while (k < n_files && strcmp(files[k], e->valuestring))
            k++;
        if (k == n_files) {
            if (n_files == MAX_SHARDS) {
                rc = auris__fail(err, AURIS_ERR_FORMAT, "%s: more than %d shards", index, MAX_SHARDS);
                goto done;
            }
            files[n_files++] = e->valuestring;
        }
    }
    g->weight_map = wm;
    int before = g->ck->n_tensors;
    for (int k = 0; k < n_files && !rc; k++) {
        char path[4096];
        if (!join(path, sizeof path, dir, files[k])) {
            rc = auris__fail(err, AURIS_ERR_INVALID_ARG, "path too long");
            break;
        }
        g->shard = files[k];
        rc = read_shard(path, m, g, err);
    }
    if (!rc && g->ck->n_tensors - before + g->has_proj_out != n_names)
        rc = auris__fail(err, AURIS_ERR_FORMAT, "%s lists %d tensors but its shards hold %d", index,
                         n_names, g->ck->n_tensors - before + g->has_proj_out);
done:
    g->weight_map = NULL;
    cJSON_Delete(root);
    return rc;
}

/* proj_out.weight must be the token embedding itself (Whisper ties them). */
static enum auris_err check_proj_out(const struct gather *g, struct auris_error *err)
{
    if (!g->has_proj_out)
        return AURIS_OK;
    const struct auris__checkpoint *ck = g->ck;
    const struct auris__raw_tensor *emb = NULL;
    for (int i = 0; i < ck->n_tensors; i++)
        if (!strcmp(ck->tensors[i].name, "decoder.token_embedding.weight"))
            emb = &ck->tensors[i];
    const struct auris__st_tensor *p = &g->proj_out;
    int same = emb && p->n_dims == emb->n_dims && p->ne[0] == emb->ne[0] && p->ne[1] == emb->ne[1];
    if (same) {
        int es = emb->type == AURIS_DT_F32 ? 4 : 2;
        int pes = p->dtype == AURIS__ST_F32 ? 4 : 2;
        same = es == pes && (p->dtype == AURIS__ST_BF16) == emb->is_bf16 &&
               (p->data == emb->data ||
                memcmp(p->data, emb->data, p->nbytes) == 0);
    }
    if (!same)
        return auris__fail(err, AURIS_ERR_UNSUPPORTED, "proj_out.weight differs from the token "
                           "embedding (an untied output projection is not supported)");
    return AURIS_OK;
}

/* ---- tokenizer files ------------------------------------------------------------------------ */

int auris__gpt2_token_bytes(const char *s, size_t len, unsigned char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        unsigned c0 = (unsigned char)s[i], cp;
        if (c0 < 0x80) {
            cp = c0;
            i++;
        } else if (c0 >= 0xC2 && c0 <= 0xDF && i + 1 < len &&
                   ((unsigned char)s[i + 1] & 0xC0) == 0x80) {
            cp = ((c0 & 0x1F) << 6) | ((unsigned char)s[i + 1] & 0x3F);
            i += 2;
        } else {
            return -1;
        }
        int b;
        if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
            b = (int)cp; /* printable bytes stand for themselves */
        else if (cp >= 256 && cp < 256 + 33)
            b = (int)cp - 256; /* 0x00..0x20 */
        else if (cp >= 256 + 33 && cp < 256 + 67)
            b = 0x7F + (int)cp - (256 + 33); /* 0x7F..0xA0 */
        else if (cp == 256 + 67)
            b = 0xAD;
        else
            return -1;
        if (n == cap)
            return -1;
        out[n++] = (unsigned char)b;
    }
    return (int)n;
}

/* The number of base (BPE) tokens of a vocabulary of n_vocab ids (tokenizer.h layout). */
static int n_base_tokens(int n_vocab)
{
    return n_vocab >= 51865 ? 50257 : 50256;
}

/* Storage for the vocabulary being read; everything is sized up front, so pointers into it
 * stay valid. */
struct vocab_build {
    struct auris__checkpoint *ck;
    int n_base;
    size_t bytes_used, bytes_cap, pool_used, pool_cap;
    int cap_specials;
    const char *what;
};

static enum auris_err add_token(struct vocab_build *v, const char *text, double idv, int base_ok,
                                struct auris_error *err)
{
    struct auris__checkpoint *ck = v->ck;
    if (!(idv >= 0 && idv <= 1e7) || idv != (double)(int)idv)
        return auris__fail(err, AURIS_ERR_FORMAT, "%s: token '%.40s' has an invalid id", v->what,
                           text);
    int id = (int)idv;
    size_t slen = strlen(text);
    if (id >= v->n_base || !base_ok) {
        if (ck->n_specials == v->cap_specials || v->pool_cap - v->pool_used < slen + 1)
            return auris__fail(err, AURIS_ERR_INTERNAL, "%s: special token storage", v->what);
        memcpy(ck->special_pool + v->pool_used, text, slen + 1);
        ck->specials[ck->n_specials].text = ck->special_pool + v->pool_used;
        ck->specials[ck->n_specials++].id = id;
        v->pool_used += slen + 1;
        return AURIS_OK;
    }
    if (ck->vocab[id])
        return auris__fail(err, AURIS_ERR_FORMAT, "%s: token id %d appears twice", v->what, id);
    int n = auris__gpt2_token_bytes(text, slen, ck->vocab_bytes + v->bytes_used,
                                    v->bytes_cap - v->bytes_used);
    if (n < 0) /* an empty token is legal: multilingual.tiktoken's rank 50256 is one */
        return auris__fail(err, AURIS_ERR_FORMAT, "%s: token %d '%.40s' is not in GPT-2's byte "
                           "alphabet", v->what, id, text);
    ck->vocab[id] = ck->vocab_bytes + v->bytes_used;
    ck->vocab_len[id] = (uint32_t)n;
    v->bytes_used += (size_t)n;
    return AURIS_OK;
}

/* Sizes: entries and key bytes of a {token: id} object or an added_tokens array. */
static void count_keys(const cJSON *j, int is_array, int *n, size_t *bytes)
{
    for (const cJSON *e = j ? j->child : NULL; e; e = e->next) {
        const char *t = e->string;
        if (is_array) {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "content");
            t = cJSON_IsString(c) ? c->valuestring : NULL;
        }
        (*n)++;
        *bytes += (t ? strlen(t) : 0) + 1;
    }
}

static enum auris_err fill_vocab(struct vocab_build *v, const cJSON *vocab, const cJSON *added,
                                 int added_is_array, struct auris_error *err)
{
    struct auris__checkpoint *ck = v->ck;
    int n = 0;
    size_t bytes = 0;
    count_keys(vocab, 0, &n, &bytes);
    count_keys(added, added_is_array, &n, &bytes);
    ck->vocab = calloc((size_t)v->n_base, sizeof *ck->vocab);
    ck->vocab_len = calloc((size_t)v->n_base, sizeof *ck->vocab_len);
    ck->vocab_bytes = malloc(bytes);
    ck->specials = calloc((size_t)AURIS_MAX(n, 1), sizeof *ck->specials);
    ck->special_pool = malloc(bytes);
    if (!ck->vocab || !ck->vocab_len || !ck->vocab_bytes || !ck->specials || !ck->special_pool)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory for the vocabulary");
    v->bytes_cap = v->pool_cap = bytes;
    v->cap_specials = n;
    enum auris_err rc;
    for (const cJSON *e = vocab->child; e; e = e->next) {
        if (!e->string || !cJSON_IsNumber(e))
            return auris__fail(err, AURIS_ERR_FORMAT, "%s: malformed vocabulary entry", v->what);
        if ((rc = add_token(v, e->string, e->valuedouble, 1, err)))
            return rc;
    }
    for (const cJSON *e = added ? added->child : NULL; e; e = e->next) {
        const char *text = e->string;
        const cJSON *id = e;
        if (added_is_array) {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "content");
            text = cJSON_IsString(c) ? c->valuestring : NULL;
            id = cJSON_GetObjectItemCaseSensitive(e, "id");
        }
        if (!text || !cJSON_IsNumber(id))
            return auris__fail(err, AURIS_ERR_FORMAT, "%s: malformed added token", v->what);
        if ((rc = add_token(v, text, id->valuedouble, 0, err)))
            return rc;
    }
    for (int i = 0; i < v->n_base; i++)
        if (!ck->vocab[i])
            return auris__fail(err, AURIS_ERR_FORMAT, "%s: base token id %d is missing", v->what, i);
    ck->n_vocab_tokens = v->n_base;
    return AURIS_OK;
}

/* vocab.json (+ added_tokens.json), else tokenizer.json; neither: no vocabulary (the .tiktoken
 * search applies). */
static enum auris_err read_vocab(const char *dir, struct auris__checkpoint *ck,
                                 struct auris_error *err)
{
    char path[4096];
    cJSON *vj = NULL, *aj = NULL;
    enum auris_err rc = AURIS_OK;
    struct vocab_build v = {.ck = ck, .n_base = n_base_tokens(ck->dims.n_vocab)};
    if (!join(path, sizeof path, dir, "vocab.json"))
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "path too long");
    if (is_reg(path)) {
        v.what = "vocab.json";
        if ((rc = read_json(path, &vj, err)))
            goto done;
        if (join(path, sizeof path, dir, "added_tokens.json") && is_reg(path) &&
            (rc = read_json(path, &aj, err)))
            goto done;
        rc = fill_vocab(&v, vj, aj, 0, err);
        goto done;
    }
    if (!join(path, sizeof path, dir, "tokenizer.json") || !is_reg(path))
        return AURIS_OK;
    v.what = "tokenizer.json";
    if ((rc = read_json(path, &vj, err)))
        goto done;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(vj, "model");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(vj, "added_tokens");
    if (!cJSON_IsObject(vocab) || (added && !cJSON_IsArray(added))) {
        rc = auris__fail(err, AURIS_ERR_FORMAT, "tokenizer.json: no model.vocab object");
        goto done;
    }
    rc = fill_vocab(&v, vocab, added, 1, err);
done:
    cJSON_Delete(vj);
    cJSON_Delete(aj);
    return rc;
}

struct named_id {
    const char *text;
    int id;
};

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const struct named_id *)a)->text, ((const struct named_id *)b)->text);
}

enum auris_err auris__hf_check_specials(const struct auris__tokenizer *tok,
                                        const struct auris__checkpoint *ck,
                                        struct auris_error *err)
{
    const struct auris__specials *sp = auris__tokenizer_specials(tok);
    const int n_vocab = auris__tokenizer_n_vocab(tok), n_base = sp->eot;
    struct named_id *ours = malloc((size_t)AURIS_MAX(n_vocab - n_base, 1) * sizeof *ours);
    if (!ours)
        return auris__fail(err, AURIS_ERR_NOMEM, "out of memory");
    for (int id = n_base; id < n_vocab; id++)
        ours[id - n_base] = (struct named_id){auris__tokenizer_special_text(tok, id), id};
    qsort(ours, (size_t)(n_vocab - n_base), sizeof *ours, cmp_named);
    enum auris_err rc = AURIS_OK;
    int have_eot = 0, have_sot = 0;
    for (int i = 0; i < ck->n_specials && !rc; i++) {
        const struct auris__special_token *s = &ck->specials[i];
        const int is_eot = !strcmp(s->text, "<|endoftext|>");
        const int is_sot = !strcmp(s->text, "<|startoftranscript|>");
        have_eot |= is_eot;
        have_sot |= is_sot;
        const char *t = auris__tokenizer_special_text(tok, s->id);
        if (t && !strcmp(t, s->text))
            continue;
        struct named_id key = {s->text, 0};
        const struct named_id *hit =
            bsearch(&key, ours, (size_t)(n_vocab - n_base), sizeof *ours, cmp_named);
        if (hit || is_eot || is_sot || s->id < n_base)
            rc = auris__fail(err, AURIS_ERR_FORMAT,
                             "special token '%.40s' has id %d in the tokenizer files, but %d in "
                             "Whisper's layout for a vocabulary of %d",
                             s->text, s->id, hit ? hit->id : -1, n_vocab);
        else
            auris__log(AURIS_LOG_DEBUG, "ignoring the tokenizer files' extra token '%.40s' (%d)",
                       s->text, s->id);
    }
    if (!rc && (!have_eot || !have_sot))
        rc = auris__fail(err, AURIS_ERR_FORMAT, "the tokenizer files do not declare %s",
                         have_eot ? "<|startoftranscript|>" : "<|endoftext|>");
    free(ours);
    return rc;
}

/* ---- entry point ---------------------------------------------------------------------------- */

enum auris_err auris__load_hf(const char *path, auris_model *m, struct auris__checkpoint *ck,
                              struct auris_error *err)
{
    memset(ck, 0, sizeof *ck);
    char dir[4096], file[4096] = "", index[4096] = "";
    if (strlen(path) >= sizeof dir)
        return auris__fail(err, AURIS_ERR_INVALID_ARG, "path too long");
    if (is_dir(path)) {
        snprintf(dir, sizeof dir, "%s", path);
    } else {
        const char *slash = strrchr(path, '/');
        if (!slash)
            snprintf(dir, sizeof dir, ".");
        else if (slash == path)
            snprintf(dir, sizeof dir, "/");
        else
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
        if (!is_reg(path))
            return auris__fail(err, AURIS_ERR_NOT_FOUND, "no such file");
        if (ends_with(path, ".safetensors"))
            snprintf(file, sizeof file, "%s", path);
        else if (ends_with(path, ".index.json"))
            snprintf(index, sizeof index, "%s", path);
    }
    if (!*file && !*index) {
        if (!join(file, sizeof file, dir, "model.safetensors") ||
            !join(index, sizeof index, dir, "model.safetensors.index.json"))
            return auris__fail(err, AURIS_ERR_INVALID_ARG, "path too long");
        if (is_reg(file))
            index[0] = '\0';
        else if (is_reg(index))
            file[0] = '\0';
        else
            return auris__fail(err, AURIS_ERR_NOT_FOUND, "no model.safetensors or "
                               "model.safetensors.index.json in %s", dir);
    }
    struct gather g = {.ck = ck};
    enum auris_err rc;
    if ((rc = read_config(dir, &ck->dims, err)))
        goto fail;
    if (*file) {
        const char *slash = strrchr(file, '/');
        g.shard = slash ? slash + 1 : file;
        rc = read_shard(file, m, &g, err);
    } else {
        rc = read_index(dir, index, m, &g, err);
    }
    if (rc || (rc = check_proj_out(&g, err)) || (rc = read_vocab(dir, ck, err)))
        goto fail;
    ck->squeezed = 0;
    return AURIS_OK;
fail:
    auris__checkpoint_clear(ck);
    return rc;
}
