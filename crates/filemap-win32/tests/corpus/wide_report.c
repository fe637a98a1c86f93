/* wide_report.c - a UNICODE C program with a plain int main(void): the parent starts itself
 * as a measuring child (told apart by an environment variable), the child fills a shared
 * table, and the parent writes a report file with the wide CRT (_wfopen_s, fwprintf,
 * swprintf_s, _itow_s, wcscat_s, _time64/_localtime64_s, wcsftime) and prints it back. */
#include <windows.h>
#include <tchar.h>
#include <stdio.h>
#include <wchar.h>
#include <time.h>

typedef struct {
    int samples[5];
    WCHAR unit[8];
} Table;

int main(void)
{
    HANDLE map = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, sizeof(Table), L"Local\\CorpusReport");
    Table *t = (Table *)MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0);
    WCHAR role[16], line[128], number[16], stamp[64];
    FILE *fp;
    int i, total = 0;
    __time64_t now;
    struct tm tm;
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    WCHAR self[MAX_PATH];

    if (GetEnvironmentVariableW(L"CORPUS_ROLE", role, 16) && wcscmp(role, L"child") == 0) {
        for (i = 0; i < 5; i++)
            t->samples[i] = (i + 1) * (i + 1);
        wcscpy_s(t->unit, 8, L"ms");
        return 0;
    }
    SetEnvironmentVariableW(L"CORPUS_ROLE", L"child");
    GetModuleFileNameW(NULL, self, MAX_PATH);
    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    if (!CreateProcessW(self, NULL, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
        wprintf(L"CreateProcessW failed: %lu\n", GetLastError());
        return 1;
    }
    WaitForSingleObject(pi.hProcess, INFINITE);
    SetEnvironmentVariableW(L"CORPUS_ROLE", NULL);

    if (_wfopen_s(&fp, L"report.txt", L"w") != 0) {
        _wperror(L"report.txt");
        return 1;
    }
    _time64(&now);
    _localtime64_s(&tm, &now);
    wcsftime(stamp, 64, L"%Y", &tm);
    fwprintf(fp, L"Report (year %s)\n", wcslen(stamp) == 4 ? L"ok" : L"??");
    for (i = 0; i < 5; i++) {
        swprintf_s(line, 128, L"sample %d: ", i + 1);
        _itow_s(t->samples[i], number, 16, 10);
        wcscat_s(line, 128, number);
        wcscat_s(line, 128, L" ");
        wcscat_s(line, 128, t->unit);
        fwprintf(fp, L"%s\n", line);
        total += _wtoi(number);
    }
    fwprintf(fp, L"total: %d %s\n", total, t->unit);
    fclose(fp);

    if (_wfopen_s(&fp, L"report.txt", L"r") != 0)
        return 1;
    while (fgetws(line, 128, fp))
        wprintf(L"%s", line);
    fclose(fp);
    _wremove(L"report.txt");
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    return 0;
}
