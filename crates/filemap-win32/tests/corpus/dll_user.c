/* dll_user.c - the two processes of the shared-memory DLL sample: the first loads the DLL
 * with LoadLibrary, stores a string with SetSharedMem and starts the second, which loads the
 * DLL too and reads it with GetSharedMem. */
#include <windows.h>
#include <stdio.h>
#include <tchar.h>

typedef BOOL(WINAPI *SETMEM)(LPWSTR);
typedef BOOL(WINAPI *GETMEM)(LPWSTR, DWORD);

int _tmain(int argc, TCHAR *argv[])
{
    HMODULE dll = LoadLibrary(TEXT("shared_dll.dll"));
    SETMEM set;
    GETMEM get;
    WCHAR buf[MAX_PATH];
    if (dll == NULL) {
        _tprintf(TEXT("LoadLibrary failed (%lu)\n"), GetLastError());
        return 1;
    }
    set = (SETMEM)GetProcAddress(dll, "SetSharedMem");
    get = (GETMEM)GetProcAddress(dll, "GetSharedMem");
    if (!set || !get || GetProcAddress(dll, "NoSuchExport") || GetLastError() != ERROR_PROC_NOT_FOUND) {
        _tprintf(TEXT("GetProcAddress misbehaved (%lu)\n"), GetLastError());
        return 1;
    }
    if (argc > 1) {
        get(buf, MAX_PATH);
        wprintf(L"Child process read from shared memory: %s\n", buf);
    } else {
        STARTUPINFO si;
        PROCESS_INFORMATION pi;
        TCHAR cmd[MAX_PATH + 16];
        set(L"This is a test string");
        ZeroMemory(&si, sizeof si);
        si.cb = sizeof si;
        _stprintf_s(cmd, _countof(cmd), TEXT("\"%s\" child"), argv[0]);
        if (!CreateProcess(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
            return 1;
        WaitForSingleObject(pi.hProcess, INFINITE);
        get(buf, MAX_PATH);
        wprintf(L"Parent process reads: %s\n", buf);
        CloseHandle(pi.hProcess);
        CloseHandle(pi.hThread);
    }
    FreeLibrary(dll);
    if (LoadLibrary(TEXT("missing_library.dll")) == NULL && GetLastError() == ERROR_MOD_NOT_FOUND)
        _tprintf(TEXT("missing_library.dll: ERROR_MOD_NOT_FOUND\n"));
    return 0;
}
