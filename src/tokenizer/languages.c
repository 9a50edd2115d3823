/*
 * languages.c — Whisper's language table and lookups by code, name or alias.
 *
 * Reference: openai/whisper tokenizer.py LANGUAGES (order matters: index k is language token
 * sot + 1 + k) and TO_LANGUAGE_CODE (names plus a few aliases). Invariants: 100 entries, "yue" is
 * last and only exists in 51866-token vocabularies; lookups are ASCII case-insensitive.
 */
#include "tokenizer/tokenizer.h"

#include <strings.h>

const char *const auris__lang_codes[100] = {
    "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv",
    "it", "id", "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no",
    "th", "ur", "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk", "te", "fa", "lv", "bn", "sr",
    "az", "sl", "kn", "et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw",
    "gl", "mr", "pa", "si", "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu",
    "am", "yi", "lo", "uz", "fo", "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl",
    "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw", "su", "yue",
};

const char *const auris__lang_names[100] = {
    "english", "chinese", "german", "spanish", "russian", "korean", "french", "japanese",
    "portuguese", "turkish", "polish", "catalan", "dutch", "arabic", "swedish", "italian",
    "indonesian", "hindi", "finnish", "vietnamese", "hebrew", "ukrainian", "greek", "malay",
    "czech", "romanian", "danish", "hungarian", "tamil", "norwegian", "thai", "urdu", "croatian",
    "bulgarian", "lithuanian", "latin", "maori", "malayalam", "welsh", "slovak", "telugu",
    "persian", "latvian", "bengali", "serbian", "azerbaijani", "slovenian", "kannada", "estonian",
    "macedonian", "breton", "basque", "icelandic", "armenian", "nepali", "mongolian", "bosnian",
    "kazakh", "albanian", "swahili", "galician", "marathi", "punjabi", "sinhala", "khmer",
    "shona", "yoruba", "somali", "afrikaans", "occitan", "georgian", "belarusian", "tajik",
    "sindhi", "gujarati", "amharic", "yiddish", "lao", "uzbek", "faroese", "haitian creole",
    "pashto", "turkmen", "nynorsk", "maltese", "sanskrit", "luxembourgish", "myanmar", "tibetan",
    "tagalog", "malagasy", "assamese", "tatar", "hawaiian", "lingala", "hausa", "bashkir",
    "javanese", "sundanese", "cantonese",
};

/* TO_LANGUAGE_CODE's extra names. */
static const struct {
    const char *alias, *code;
} aliases[] = {
    {"burmese", "my"},   {"valencian", "ca"},     {"flemish", "nl"},  {"haitian", "ht"},
    {"letzeburgesch", "lb"}, {"pushto", "ps"},    {"panjabi", "pa"},  {"moldavian", "ro"},
    {"moldovan", "ro"},  {"sinhalese", "si"},     {"castilian", "es"}, {"mandarin", "zh"},
};

const char *auris_language_code(int index)
{
    return index >= 0 && index < 100 ? auris__lang_codes[index] : NULL;
}

const char *auris_language_name(int index)
{
    return index >= 0 && index < 100 ? auris__lang_names[index] : NULL;
}

static int code_index(const char *code)
{
    for (int i = 0; i < 100; i++)
        if (strcasecmp(code, auris__lang_codes[i]) == 0)
            return i;
    return -1;
}

int auris_language_index(const char *code_or_name)
{
    if (!code_or_name)
        return -1;
    int i = code_index(code_or_name);
    if (i >= 0)
        return i;
    for (i = 0; i < 100; i++)
        if (strcasecmp(code_or_name, auris__lang_names[i]) == 0)
            return i;
    for (size_t k = 0; k < AURIS_ARRAY_LEN(aliases); k++)
        if (strcasecmp(code_or_name, aliases[k].alias) == 0)
            return code_index(aliases[k].code);
    return -1;
}
