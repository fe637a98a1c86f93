/* Wide strings the way Windows programs write them: L"..." names passed to the W functions,
 * WCHAR arrays filled by wcscpy/swprintf, MSVC's wide printf rules (%s is wide in wprintf),
 * mixing printf and wprintf on one stream, and (C++) std::wstring and std::wcout. Built in
 * every mode; a UNICODE C build with a plain int main(void) next to <tchar.h>. */
#include <windows.h>
#include <tchar.h>
#include <stdio.h>
#include <wchar.h>
#ifdef __cplusplus
#include <iostream>
#include <string>
#endif
#include "check.h"

int main(void)
{
    WCHAR nameA[64], nameB[64], got[64];
    char narrow[64];
    HANDLE a, b, again, ev;
    WCHAR *view;
    DWORD pid = GetCurrentProcessId();

    CHECK(sizeof(WCHAR) == sizeof(wchar_t));
    CHECK(sizeof(L"ab") == 3 * sizeof(WCHAR));
    CHECK(sizeof(TEXT("ab")) == 3 * sizeof(TCHAR));

    /* Two distinct wide names are two objects (a 16-bit WCHAR read a wchar_t literal as "L"). */
    swprintf(nameA, 64, L"Local\\wide_strings_A_%u", (unsigned)pid);
    swprintf(nameB, 64, L"Local\\wide_strings_B_%u", (unsigned)pid);
    a = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, nameA);
    CHECK(a != NULL && GetLastError() == 0);
    b = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, nameB);
    CHECK(b != NULL && GetLastError() == 0);
    /* The narrow spelling of the same name opens the same object. */
    snprintf(narrow, sizeof narrow, "Local\\wide_strings_A_%u", (unsigned)pid);
    again = OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, narrow);
    CHECK(again != NULL);

    /* Wide text through a view, with the C library's wcs functions. */
    view = (WCHAR *)MapViewOfFile(a, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    CHECK(view != NULL);
    wcscpy(view, L"Grüße from the server");
    CHECK(wcslen(view) == 21);
    CHECK(wcscpy_s(got, _countof(got), view) == 0 && wcscmp(got, L"Grüße from the server") == 0);
    CHECK(wcscpy_s(got, 4, view) == ERANGE && got[0] == 0);
    CHECK(_wtoi(L"  42x") == 42);
    CHECK(_itow_s(-17, got, 64, 10) == 0 && wcscmp(got, L"-17") == 0);
    CHECK(lstrlenW(L"\u00e9t\u00e9") == 3);

    /* Object names and an event with a wide name from a literal. */
    ev = CreateEventW(NULL, TRUE, FALSE, L"Local\\wide_strings_event");
    CHECK(ev != NULL && GetLastError() == 0);
    CHECK(OpenEventA(SYNCHRONIZE, FALSE, "Local\\wide_strings_event") != NULL);
    /* A name that is no Unicode text. */
    got[0] = (WCHAR)0xD800;
    got[1] = 0;
    CHECK_ERR(CreateEventW(NULL, TRUE, FALSE, got) == NULL, ERROR_INVALID_NAME);

    /* printf and wprintf on one stream, MSVC's rules: %s in a wide format is a wide string. */
    printf("narrow first, ");
    wprintf(L"then wide: %s (%d chars), %S, %c%C\n", view, (int)wcslen(view), "narrow %S", L'!', '?');
    fwprintf(stdout, L"%-6s|%5.2s|\n", L"ab", L"xyz");
    wprintf(L"[%-7s][%6s][%-3c]\n", L"Grüße", L"€5", L'é'); /* widths count characters */
#ifdef __cplusplus
    {
        std::wstring s = L"Local\\wide_strings_cxx";
        HANDLE m = CreateMutexW(NULL, FALSE, s.c_str());
        CHECK(m != NULL);
        CHECK(OpenMutexW(SYNCHRONIZE, FALSE, s.c_str()) != NULL);
        std::wcout << L"wcout: " << std::wstring(view) << L" " << 42 << std::endl;
        printf("printf after wcout\n");
        std::cout << "cout too" << std::endl;
        std::wcout << L"and wcout again" << std::endl;
    }
#endif
    _tprintf(_T("tchar: %s\n"), _T("text"));
    printf("%s\n", failures ? "WIDE FAILED" : "WIDE OK");
    return failures != 0;
}
