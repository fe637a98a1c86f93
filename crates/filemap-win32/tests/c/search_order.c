/* CreateProcess's program search, as Windows orders it: the application's directory, the
 * current directory unless NoDefaultCurrentDirectoryInExePath is set, then PATH (standing in
 * for the system directories). The driver (c_programs.rs) runs this program from a directory
 * of its own, with the current directory set to a "work" directory where programs named
 * "tool" and "apptool" are planted, "apptool" also next to this program, and PATH's first
 * entry holding a "tool". Each program exits with a code saying where it lives:
 * 11 = current directory, 22 = PATH, 33 = this program's directory. */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>
#include "check.h"

/* Runs `cmd` as CreateProcess(NULL, cmd) and returns its exit code (0xffffffff if it failed). */
static DWORD run(const _TCHAR *cmd)
{
    _TCHAR line[256];
    STARTUPINFO si;
    PROCESS_INFORMATION pi;
    DWORD code = 0xffffffff;
    lstrcpy(line, cmd);
    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    if (!CreateProcess(NULL, line, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
        return code;
    CHECK(WaitForSingleObject(pi.hProcess, 30000) == WAIT_OBJECT_0);
    CHECK(GetExitCodeProcess(pi.hProcess, &code));
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    return code;
}

/* Wide names spelled unit by unit: they work whatever width WCHAR has. */
static const WCHAR w_tool[] = {'t', 'o', 'o', 'l', 0};
static const WCHAR w_sub_tool[] = {'s', 'u', 'b', '\\', 't', 'o', 'o', 'l', 0};

int _tmain(void)
{
    /* Windows' default: the current directory comes before PATH, after the application's. */
    SetEnvironmentVariable(TEXT("NoDefaultCurrentDirectoryInExePath"), NULL);
    CHECK(NeedCurrentDirectoryForExePath(TEXT("tool")));
    CHECK(run(TEXT("tool")) == 11);
    CHECK(run(TEXT("tool.exe")) == 11);
    CHECK(run(TEXT("apptool")) == 33);

    /* The variable takes the current directory out of the search. */
    CHECK(SetEnvironmentVariable(TEXT("NoDefaultCurrentDirectoryInExePath"), TEXT("1")));
    CHECK(!NeedCurrentDirectoryForExePathA("tool"));
    CHECK(!NeedCurrentDirectoryForExePathW(w_tool));
    CHECK(run(TEXT("tool")) == 22);
    CHECK(run(TEXT("\"tool.exe\" arg")) == 22);
    CHECK(run(TEXT("apptool")) == 33);
    /* A name with a path is never searched for: it is relative to the current directory. */
    CHECK(NeedCurrentDirectoryForExePathA(".\\tool"));
    CHECK(NeedCurrentDirectoryForExePathW(w_sub_tool));
    CHECK(run(TEXT(".\\tool")) == 11);
    CHECK(run(TEXT("./tool")) == 11);

    /* An empty value is no value (GetEnvironmentVariable returns 0 for it). */
    CHECK(SetEnvironmentVariable(TEXT("NoDefaultCurrentDirectoryInExePath"), TEXT("")));
    CHECK(NeedCurrentDirectoryForExePath(TEXT("tool")));
    CHECK(run(TEXT("tool")) == 11);

    if (failures) {
        printf("%d failure(s)\n", failures);
        return 1;
    }
    printf("SEARCH ORDER OK\n");
    return 0;
}
