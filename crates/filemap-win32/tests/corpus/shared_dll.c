/* shared_dll.c - Microsoft's "Using Shared Memory in a Dynamic-Link Library": the DLL's
 * DllMain creates (or opens) a named file mapping on process attach, and every process that
 * loads the DLL shares it through SetSharedMem/GetSharedMem. Built as a shared object
 * (cc -shared -fPIC shared_dll.c -o shared_dll.so). */
#include <windows.h>
#include <memory.h>

#define SHMEMSIZE 4096

static LPVOID lpvMem = NULL; /* pointer to shared memory */
static HANDLE hMapObject = NULL; /* handle to file mapping */

BOOL WINAPI DllMain(HINSTANCE hinstDLL, DWORD fdwReason, LPVOID lpvReserved)
{
    BOOL fInit, fIgnore;
    (void)hinstDLL;
    (void)lpvReserved;
    switch (fdwReason) {
    case DLL_PROCESS_ATTACH:
        hMapObject = CreateFileMapping(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, SHMEMSIZE, TEXT("Local\\CorpusDllMemMap"));
        if (hMapObject == NULL)
            return FALSE;
        fInit = (GetLastError() != ERROR_ALREADY_EXISTS);
        lpvMem = MapViewOfFile(hMapObject, FILE_MAP_WRITE, 0, 0, 0);
        if (lpvMem == NULL)
            return FALSE;
        if (fInit)
            memset(lpvMem, '\0', SHMEMSIZE);
        break;
    case DLL_THREAD_ATTACH:
    case DLL_THREAD_DETACH:
        break;
    case DLL_PROCESS_DETACH:
        fIgnore = UnmapViewOfFile(lpvMem);
        fIgnore = CloseHandle(hMapObject);
        (void)fIgnore;
        break;
    default:
        break;
    }
    return TRUE;
}

#ifdef __cplusplus
extern "C" {
#endif

__declspec(dllexport) BOOL WINAPI SetSharedMem(LPWSTR lpszBuf)
{
    LPWSTR lpszTmp;
    DWORD dwCount = 1;
    lpszTmp = (LPWSTR)lpvMem;
    while (*lpszBuf && dwCount < SHMEMSIZE / sizeof(WCHAR)) {
        *lpszTmp++ = *lpszBuf++;
        dwCount++;
    }
    *lpszTmp = '\0';
    return TRUE;
}

__declspec(dllexport) BOOL WINAPI GetSharedMem(LPWSTR lpszBuf, DWORD cchSize)
{
    LPWSTR lpszTmp;
    lpszTmp = (LPWSTR)lpvMem;
    while (*lpszTmp && --cchSize)
        *lpszBuf++ = *lpszTmp++;
    *lpszBuf = '\0';
    return TRUE;
}

#ifdef __cplusplus
}
#endif
