/* A DLL as Windows sources write one, built as a shared object for compat_api.c. */
#include <windows.h>

__declspec(dllexport) int attach_count = 0;

BOOL APIENTRY DllMain(HMODULE hModule, DWORD reason, LPVOID reserved)
{
    (void)hModule;
    (void)reserved;
    if (reason == DLL_PROCESS_ATTACH)
        attach_count++;
    return TRUE;
}

__declspec(dllexport) int WINAPI Add(int a, int b)
{
    return a + b;
}
