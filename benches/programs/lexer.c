/* A state-machine lexer with callbacks: a tokenizer walks a generated
 * text one character at a time through a table of state functions (one
 * `call_indirect` per character) and reports each token to a table of
 * callbacks, as a callback-driven (SAX-style) parser does. */
#include "common.h"

#define TEXT 1024u

struct lexer;
typedef uint32_t (*state_fn)(struct lexer *, uint8_t);
typedef void (*token_fn)(struct lexer *, uint32_t value);

enum { S_START, S_NUMBER, S_WORD, S_STRING, S_COUNT };
enum { T_NUMBER, T_WORD, T_STRING, T_PUNCT, T_COUNT };

struct lexer {
    uint32_t state;
    uint32_t value;
    uint32_t checksum;
    uint32_t counts[T_COUNT];
    const token_fn *on_token;
};

static void emit(struct lexer *l, uint32_t kind, uint32_t value) {
    l->counts[kind]++;
    l->on_token[kind](l, value);
}

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static int is_alpha(uint8_t c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }

static uint32_t start(struct lexer *l, uint8_t c) {
    if (is_digit(c)) { l->value = c - '0'; return S_NUMBER; }
    if (is_alpha(c)) { l->value = c; return S_WORD; }
    if (c == '"') { l->value = 0; return S_STRING; }
    if (c != ' ') emit(l, T_PUNCT, c);
    return S_START;
}
static uint32_t number(struct lexer *l, uint8_t c) {
    if (is_digit(c)) { l->value = l->value * 10 + (c - '0'); return S_NUMBER; }
    emit(l, T_NUMBER, l->value);
    return start(l, c);
}
static uint32_t word(struct lexer *l, uint8_t c) {
    if (is_alpha(c) || is_digit(c)) { l->value = l->value * 31 + c; return S_WORD; }
    emit(l, T_WORD, l->value);
    return start(l, c);
}
static uint32_t string(struct lexer *l, uint8_t c) {
    if (c == '"') { emit(l, T_STRING, l->value); return S_START; }
    l->value = l->value * 131 + c;
    return S_STRING;
}

static const state_fn states[S_COUNT] = {start, number, word, string};

static void on_number(struct lexer *l, uint32_t v) { l->checksum = mix(l->checksum, v); }
static void on_word(struct lexer *l, uint32_t v) { l->checksum = mix(l->checksum, v ^ 0x5555); }
static void on_string(struct lexer *l, uint32_t v) { l->checksum = mix(l->checksum, v + 17); }
static void on_punct(struct lexer *l, uint32_t v) { l->checksum += v; }

static const token_fn callbacks[T_COUNT] = {on_number, on_word, on_string, on_punct};

/* A text of numbers, words, strings and punctuation. */
static void generate(uint8_t *text, uint32_t seed) {
    static const char punct[] = "{}[],:;=+-";
    uint32_t state = seed | 1, k = 0;
    while (k + 12 < TEXT) {
        state = next_random(state);
        uint32_t len = 1 + (state >> 8) % 6;
        switch (state % 4) {
        case 0: for (uint32_t i = 0; i < len; i++) text[k++] = (uint8_t)('0' + (state >> (i * 3)) % 10); break;
        case 1: for (uint32_t i = 0; i < len; i++) text[k++] = (uint8_t)('a' + (state >> (i * 4)) % 26); break;
        case 2:
            text[k++] = '"';
            for (uint32_t i = 0; i < len; i++) text[k++] = (uint8_t)('A' + (state >> (i * 2)) % 26);
            text[k++] = '"';
            break;
        default: text[k++] = (uint8_t)punct[(state >> 4) % 10]; break;
        }
        text[k++] = ' ';
    }
    while (k < TEXT) text[k++] = ' ';
}

/* n counts characters, in passes over the text. */
RUN_FUNCTION {
    uint8_t text[TEXT];
    generate(text, (uint32_t)seed);
    struct lexer l = {S_START, 0, (uint32_t)seed, {0}, callbacks};
    for (int32_t done = 0; done < n; done += TEXT) {
        for (uint32_t i = 0; i < TEXT; i++) l.state = states[l.state](&l, text[i]);
        l.state = states[l.state](&l, ' ');
    }
    for (uint32_t t = 0; t < T_COUNT; t++) l.checksum = mix(l.checksum, l.counts[t]);
    return (int32_t)l.checksum;
}
