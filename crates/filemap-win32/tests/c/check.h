/* check.h: the assertion macros shared by the C test programs (test code only; programs that
 * run as several roles define CHECK_ROLE to the name of their role variable first). */
#ifndef FILEMAP_TEST_CHECK_H
#define FILEMAP_TEST_CHECK_H

#include <stdio.h>
#include <windows.h>

#ifndef CHECK_ROLE
#define CHECK_ROLE "main"
#endif

static int failures = 0;

/* Counts and reports a failed condition with the thread's last error. */
#define CHECK(cond)                                                                                  \
    do {                                                                                             \
        if (!(cond)) {                                                                               \
            printf("FAIL %s line %d: %s (last error %u)\n", CHECK_ROLE, __LINE__, #cond,             \
                   (unsigned)GetLastError());                                                        \
            failures++;                                                                              \
        }                                                                                            \
    } while (0)

/* Checks a call's result and that it set the last error to exactly `code`. */
#define CHECK_ERR(cond, code)                                                                        \
    do {                                                                                             \
        SetLastError(0xdeadbeef);                                                                    \
        CHECK(cond);                                                                                 \
        CHECK(GetLastError() == (DWORD)(code));                                                      \
    } while (0)

#endif
