/* The remaining exports, each checked once: time, system information, local/global memory,
 * console stand-ins, conio, standard handles, the *Ex waits, startup info, OpenProcess,
 * 64-bit file pointers, thread pseudo-handles. Standard input: "ab". */
#include <windows.h>
#include <stdio.h>
#include <conio.h>
#include <tchar.h>
#include <time.h>
#include "check.h"


int _tmain(int argc, _TCHAR *argv[])
{
    SYSTEMTIME st, lt;
    FILETIME ft;
    SYSTEM_INFO si;
    STARTUPINFO sti;
    char *p;
    DWORD n, code;
    HANDLE out, h, self_thread;
    LARGE_INTEGER pos, to;
    TCHAR tmp[MAX_PATH];
    ULONGLONG ft64, now64;

    if (argc == 2) /* child for OpenProcess */
        return (int)_ttoi(argv[1]);

    GetNativeSystemInfo(&si);
    CHECK(si.dwPageSize == 4096 && si.dwAllocationGranularity == 65536 && si.dwNumberOfProcessors >= 1);
    CHECK(si.wProcessorArchitecture == PROCESSOR_ARCHITECTURE_AMD64 || si.wProcessorArchitecture == PROCESSOR_ARCHITECTURE_ARM64);
    GetSystemTime(&st);
    GetLocalTime(&lt);
    CHECK(st.wYear >= 2024 && st.wMonth >= 1 && st.wMonth <= 12 && st.wDay >= 1 && lt.wYear >= 2024);
    GetSystemTimeAsFileTime(&ft);
    ft64 = ((ULONGLONG)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
    now64 = (ULONGLONG)time(NULL) * 10000000ULL + 116444736000000000ULL;
    CHECK(ft64 + 50000000ULL > now64 && ft64 < now64 + 50000000ULL); /* within 5 s */

    p = (char *)LocalAlloc(LPTR, 100);
    CHECK(p != NULL && p[0] == 0 && p[99] == 0);
    CHECK(LocalFree(p) == NULL);
    p = (char *)GlobalAlloc(GPTR, 10);
    CHECK(p != NULL && p[9] == 0);
    CHECK(GlobalFree(p) == NULL);

    CHECK(FreeConsole() && AllocConsole() && GetConsoleWindow() == NULL);
    CHECK(SetConsoleTitleW(L"wide title"));
    CHECK(MessageBoxW(NULL, L"wide text \u00e9", L"Wide", MB_OKCANCEL) == IDOK);

    /* conio: the parent writes "ab" to our stdin pipe and closes it; it may not have arrived
       yet when we get here, so give _kbhit up to 10 s to see it (a poll, not a timing check) */
    {
        int waited = 0;
        while (!_kbhit() && waited < 10000) {
            Sleep(10);
            waited += 10;
        }
    }
    CHECK(_kbhit() != 0);
    CHECK(_getche() == 'a'); /* echoes it */
    CHECK(getch() == 'b');
    CHECK(_kbhit() == 0 && _getch() == EOF);
    CHECK(_putch('!') == '!');
    printf("\n");

    /* standard handles work with WriteFile */
    out = GetStdHandle(STD_OUTPUT_HANDLE);
    CHECK(out != INVALID_HANDLE_VALUE && out != NULL);
    fflush(stdout);
    CHECK(WriteFile(out, "via WriteFile\n", 14, &n, NULL) && n == 14);

    /* *Ex waits and sleeps */
    h = CreateEvent(NULL, TRUE, TRUE, NULL);
    CHECK(WaitForSingleObjectEx(h, 0, TRUE) == WAIT_OBJECT_0);
    CHECK(WaitForMultipleObjectsEx(1, &h, TRUE, 0, FALSE) == WAIT_OBJECT_0);
    CHECK(SleepEx(1, TRUE) == 0);
    CHECK(CloseHandle(h));

    GetStartupInfo(&sti);
    CHECK(sti.cb == sizeof sti && sti.dwFlags == 0);

    /* OpenProcess on a child started by CreateProcess */
    {
        PROCESS_INFORMATION pi;
        TCHAR cmd[1024];
        HANDLE other;
        ZeroMemory(&sti, sizeof sti);
        sti.cb = sizeof sti;
        _stprintf(cmd, TEXT("\"%s\" 7"), argv[0]);
        CHECK(CreateProcess(NULL, cmd, NULL, NULL, FALSE, CREATE_SUSPENDED, NULL, NULL, &sti, &pi));
        other = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_INFORMATION, FALSE, pi.dwProcessId);
        CHECK(other != NULL && GetProcessId(other) == pi.dwProcessId);
        CHECK(WaitForSingleObject(other, 50) == WAIT_TIMEOUT);
        CHECK(ResumeThread(pi.hThread) == 1);
        CHECK(WaitForSingleObject(other, 30000) == WAIT_OBJECT_0);
        CHECK(WaitForSingleObject(pi.hProcess, 30000) == WAIT_OBJECT_0);
        CHECK(GetExitCodeProcess(pi.hProcess, &code) && code == 7);
        CHECK(GetExitCodeThread(pi.hThread, &code) && code == 7);
        CHECK(CloseHandle(other) && CloseHandle(pi.hProcess) && CloseHandle(pi.hThread));
    }

    /* 64-bit file pointers */
    CHECK(GetTempPath(MAX_PATH, tmp) > 0);
    _tcscat(tmp, TEXT("misc_exports.dat"));
    h = CreateFile(tmp, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_FLAG_DELETE_ON_CLOSE, NULL);
    CHECK(h != INVALID_HANDLE_VALUE);
    to.QuadPart = 5LL << 32; /* 20 GiB: sparse */
    CHECK(SetFilePointerEx(h, to, &pos, FILE_BEGIN) && pos.QuadPart == to.QuadPart);
    CHECK(SetEndOfFile(h));
    CHECK(GetFileSizeEx(h, &pos) && pos.QuadPart == to.QuadPart);
    {
        DWORD high = 0;
        CHECK(GetFileSize(h, &high) == 0 && high == 5);
    }
    to.QuadPart = -1;
    CHECK(SetFilePointerEx(h, to, &pos, FILE_END) && pos.QuadPart == (5LL << 32) - 1);
    CHECK(CloseHandle(h));

    /* thread pseudo-handle */
    CHECK(GetCurrentThread() == (HANDLE)(LONG_PTR)-2);
    CHECK(GetThreadId(GetCurrentThread()) == GetCurrentThreadId());
    CHECK(GetExitCodeThread(GetCurrentThread(), &code) && code == STILL_ACTIVE);
    CHECK(DuplicateHandle(GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(), &self_thread, 0, FALSE,
                          DUPLICATE_SAME_ACCESS));
    CHECK(self_thread != GetCurrentThread() && CloseHandle(self_thread));

    if (failures) {
        printf("%d FAILURES\n", failures);
        return 1;
    }
    _tprintf(TEXT("MISC OK\n"));
    return 0;
}
