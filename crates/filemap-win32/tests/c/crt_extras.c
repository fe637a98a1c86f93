/* The C runtime extras Windows programs use: secure CRT (*_s, with the C++ array-template
 * overloads), _itoa and friends, scanf_s/gets_s/_getch on standard input, _countof, tchar.h
 * formatting in ANSI and UNICODE builds, FormatMessage in both character sets.
 * Standard input (from the test): "42 word\nline of text\nk". */
#include <windows.h>
#include <stdio.h>
#include <conio.h>
#include <tchar.h>
#include "check.h"


int _tmain(void)
{
    char buf[8], big[64], word[16], line[32];
    int n = 0, c;
    TCHAR t[64];

    /* strcpy_s / strcat_s / strncpy_s */
    CHECK(strcpy_s(buf, sizeof buf, "1234567") == 0 && strcmp(buf, "1234567") == 0);
    CHECK(strcpy_s(buf, sizeof buf, "12345678") == ERANGE && buf[0] == 0);
    CHECK(strcpy_s(NULL, 4, "x") == EINVAL);
    strcpy_s(buf, _countof(buf), "abc");
    CHECK(strcat_s(buf, _countof(buf), "defg") == 0 && strcmp(buf, "abcdefg") == 0);
    CHECK(strcat_s(buf, _countof(buf), "h") == ERANGE && buf[0] == 0);
    CHECK(strncpy_s(buf, sizeof buf, "abcdefghij", _TRUNCATE) == STRUNCATE && strcmp(buf, "abcdefg") == 0);
    CHECK(strncpy_s(buf, sizeof buf, "abcdefghij", 3) == 0 && strcmp(buf, "abc") == 0);
    /* sprintf_s / _snprintf_s / _snprintf */
    CHECK(sprintf_s(big, sizeof big, "%d-%s", 7, "x") == 3 && strcmp(big, "7-x") == 0);
    CHECK(sprintf_s(buf, sizeof buf, "%s", "too long for it") == -1 && buf[0] == 0);
    CHECK(_snprintf_s(buf, sizeof buf, _TRUNCATE, "%s", "truncated") == -1 && strcmp(buf, "truncat") == 0);
    CHECK(_snprintf(big, 4, "%s", "abcdef") == -1 && memcmp(big, "abcd", 4) == 0);
    CHECK(_countof(big) == 64);
    /* integer conversions */
    CHECK(strcmp(_itoa(-255, big, 10), "-255") == 0);
    CHECK(strcmp(_itoa(255, big, 16), "ff") == 0);
    CHECK(strcmp(_itoa(-1, big, 16), "ffffffff") == 0);
    CHECK(strcmp(itoa(5, big, 2), "101") == 0);
    CHECK(_itoa_s(123456, buf, sizeof buf, 10) == 0 && strcmp(buf, "123456") == 0);
    CHECK(_itoa_s(12345678, buf, sizeof buf, 10) == ERANGE && buf[0] == 0);
    CHECK(_itoa_s(1, buf, sizeof buf, 1) == EINVAL);
    CHECK(strcmp(_i64toa(-9000000000LL, big, 10), "-9000000000") == 0);
    CHECK(strcmp(_ultoa(4000000000UL, big, 10), "4000000000") == 0);
    /* sscanf_s with buffer sizes */
    CHECK(sscanf_s("17 abcdefghijkl", "%d %s", &n, word, (unsigned)4) == 2 && n == 17 && strcmp(word, "abc") == 0);
    CHECK(sscanf_s("x", "%d", &n) == 0);
    /* tchar.h scanf family (UTF-16 in UNICODE builds) */
    {
        TCHAR w[8];
        int k = 0;
        CHECK(_stscanf_s(TEXT("7 abcdefghij"), TEXT("%d %s"), &k, w, (unsigned)_countof(w)) == 2 && k == 7 &&
              _tcscmp(w, TEXT("abcdefg")) == 0);
        CHECK(_stscanf(TEXT("8 xy"), TEXT("%d %s"), &k, w) == 2 && k == 8 && _tcscmp(w, TEXT("xy")) == 0);
    }
    /* standard input: scanf_s, gets_s, _getch */
    CHECK(scanf_s("%d %15s", &n, word, (unsigned)_countof(word)) == 2 && n == 42 && strcmp(word, "word") == 0);
    c = getchar(); /* the newline after "word" */
    CHECK(c == '\n');
    CHECK(gets_s(line, sizeof line) == line && strcmp(line, "line of text") == 0);
    CHECK(_getch() == 'k');
    CHECK(_getch() == EOF);
    CHECK(gets_s(line, sizeof line) == NULL);
    /* tchar.h formatting */
    _stprintf(t, TEXT("%s|%d|%5.2f|%-4s|%x|%c|%lld"), TEXT("str"), -3, 2.5, TEXT("ab"), 255, TEXT('Z'), 1LL << 40);
    CHECK(_tcscmp(t, TEXT("str|-3| 2.50|ab  |ff|Z|1099511627776")) == 0);
    CHECK(_tcslen(t) == 36);
    _tcscpy(t, TEXT("Mapping "));
    _tcscat(t, TEXT("\u00e9t\u00e9")); /* non-ASCII prints as UTF-8 */
    _tprintf(TEXT("%s: %d %s\n"), t, 5, TEXT("ok"));
    CHECK(_ttoi(TEXT("123")) == 123);
    /* FormatMessage in the program's character set */
    {
        TCHAR *msg = NULL;
        DWORD len = FormatMessage(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                                  NULL, ERROR_ACCESS_DENIED, MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT), (LPTSTR)&msg, 0, NULL);
        CHECK(len == 19 && msg != NULL); /* "Access is denied.\r\n" */
        if (msg) {
            _tprintf(TEXT("error 5: %s"), msg);
            LocalFree(msg);
        }
    }
    {
        char *msg = NULL;
        const char *fmt = "%1 has %2!d! items%n";
        DWORD_PTR args[] = {(DWORD_PTR) "box", (DWORD_PTR)3};
        DWORD len = FormatMessageA(FORMAT_MESSAGE_FROM_STRING | FORMAT_MESSAGE_ARGUMENT_ARRAY | FORMAT_MESSAGE_ALLOCATE_BUFFER,
                                   fmt, 0, 0, (LPSTR)&msg, 0, (va_list *)args);
        CHECK(msg && strcmp(msg, "box has 3 items\r\n") == 0 && len == 17);
        LocalFree(msg);
    }
#ifdef __cplusplus
    /* C++: the array-template overloads */
    {
        char small[6];
        CHECK(strcpy_s(small, "hello") == 0 && strcmp(small, "hello") == 0);
        CHECK(strcpy_s(small, "hello!") == ERANGE);
        CHECK(strcat_s(small, "x") == 0);
        CHECK(sprintf_s(small, "%d", 12345) == 5);
        CHECK(_itoa_s(99, small, 10) == 0 && strcmp(small, "99") == 0);
        CHECK(_countof(small) == 6);
    }
    {
        TCHAR tbuf[8];
        CHECK(_tcscpy_s(tbuf, TEXT("abc")) == 0 && _tcscat_s(tbuf, TEXT("def")) == 0 && _tcscmp(tbuf, TEXT("abcdef")) == 0);
        CHECK(_tcscat_s(tbuf, TEXT("gh")) == ERANGE);
        CHECK(_stprintf_s(tbuf, TEXT("%d"), 1234) == 4 && _tcscmp(tbuf, TEXT("1234")) == 0);
        CHECK(_itot_s(77, tbuf, 10) == 0 && _tcscmp(tbuf, TEXT("77")) == 0);
    }
#endif
    if (failures) {
        printf("%d FAILURES\n", failures);
        return 1;
    }
    _tprintf(TEXT("CRT OK\n"));
    return 0;
}
