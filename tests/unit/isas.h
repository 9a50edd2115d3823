/*
 * isas.h — the unit tests' one list of kernel ISA levels and the loop that forces each in turn.
 *
 * Every level src/kernels knows by name is listed; auris__kernels_force refuses those this CPU
 * lacks, and the loop skips them. Invariants: after a loop has run to its end (or after
 * for_each_isa) the default choice is back in force; include after kernels/kernels.h.
 */
#ifndef AURIS_TEST_ISAS_H
#define AURIS_TEST_ISAS_H

#include <stddef.h>

#include "kernels/kernels.h"

static const char *const TEST_ISAS[] = {"generic", "avx2", "avx512"};

/* The level after prev (NULL: the first) that this CPU has, now forced; NULL after the last,
 * with the default choice restored. Loop: for (isa = isa_next(NULL); isa; isa = isa_next(isa)) */
static inline const char *isa_next(const char *prev)
{
    size_t i = 0;
    if (prev)
        while (i < sizeof TEST_ISAS / sizeof TEST_ISAS[0] && TEST_ISAS[i++] != prev)
            ;
    for (; i < sizeof TEST_ISAS / sizeof TEST_ISAS[0]; i++)
        if (auris__kernels_force(TEST_ISAS[i]) == 0)
            return TEST_ISAS[i];
    auris__kernels_force(NULL);
    return NULL;
}

/* Each level this CPU has, forced, as isa (a const char *) in the loop body. */
#define FOR_EACH_ISA(isa) for (const char *isa = isa_next(NULL); isa; isa = isa_next(isa))

/* Runs fn(isa) with every level this CPU has forced; returns how many ran. */
static inline int for_each_isa(void (*fn)(const char *isa))
{
    int ran = 0;
    FOR_EACH_ISA(isa)
    {
        fn(isa);
        ran++;
    }
    return ran;
}

#endif /* AURIS_TEST_ISAS_H */
