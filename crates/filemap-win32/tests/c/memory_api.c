/* memory_api.c: VirtualAlloc/VirtualFree/VirtualProtect/VirtualLock/VirtualQuery on private
 * memory and on views, reserve and commit of SEC_RESERVE sections across two processes, and a
 * ring buffer built from placeholders (VirtualAlloc2 + MapViewOfFile3). Expected values are
 * Windows' (Wine's kernel32 virtual.c and the PAL's filemapping_memmgt tests record them). */
#include <string.h>
#include <windows.h>

#include "check.h"

#define MAPPING_SIZE 0x100000

static void query(void *p, MEMORY_BASIC_INFORMATION *info) {
    CHECK(VirtualQuery(p, info, sizeof(*info)) == sizeof(*info));
}

static void private_memory(void) {
    MEMORY_BASIC_INFORMATION info;
    DWORD old = 0;
    char *a, *b;

    CHECK_ERR(VirtualAlloc(NULL, 0, MEM_RESERVE, PAGE_NOACCESS) == NULL, ERROR_INVALID_PARAMETER);
    a = (char *)VirtualAlloc(NULL, 0xFFFC, MEM_RESERVE, PAGE_NOACCESS);
    CHECK(a != NULL && ((ULONG_PTR)a & 0xffff) == 0);
    query(a, &info);
    CHECK(info.BaseAddress == a && info.AllocationBase == a && info.AllocationProtect == PAGE_NOACCESS);
    CHECK(info.RegionSize == 0x10000 && info.State == MEM_RESERVE && info.Protect == 0 && info.Type == MEM_PRIVATE);
    CHECK_ERR(!VirtualProtect(a, 0xFFFC, PAGE_READONLY, &old), ERROR_INVALID_ADDRESS);
    CHECK(VirtualAlloc(a, 0x1000, MEM_COMMIT, PAGE_NOACCESS) == a);
    query(a, &info);
    CHECK(info.RegionSize == 0x1000 && info.State == MEM_COMMIT && info.Protect == PAGE_NOACCESS);
    CHECK(VirtualProtect(a, 0x1000, PAGE_READONLY, &old) && old == PAGE_NOACCESS);
    CHECK(VirtualProtect(a, 0x1000, PAGE_READWRITE, &old) && old == PAGE_READONLY);
    CHECK_ERR(!VirtualProtect(a, 0x1000, PAGE_READWRITE, NULL), ERROR_NOACCESS);
    CHECK(a[0] == 0 && a[4095] == 0);
    memset(a, 0x55, 20);
    CHECK_ERR(VirtualAlloc(NULL, 0x1000, MEM_COMMIT, 0) == NULL, ERROR_INVALID_PARAMETER);
    CHECK_ERR(VirtualAlloc(a, 0x1000, MEM_COMMIT, PAGE_READONLY | PAGE_EXECUTE) == NULL, ERROR_INVALID_PARAMETER);
    CHECK_ERR(VirtualAlloc(a, 0x1000, MEM_RESERVE | MEM_COMMIT | 0x40000000, PAGE_READWRITE) == NULL,
              ERROR_INVALID_PARAMETER);
    CHECK(VirtualLock(a, 0x1000));
    CHECK(VirtualUnlock(a, 0x1000));
    CHECK_ERR(!VirtualUnlock(a, 0x1000), ERROR_NOT_LOCKED);
    CHECK_ERR(!VirtualLock(a + 0x1000, 0x1000), ERROR_NOACCESS);
    CHECK_ERR(!VirtualFree(a, 0x10000, 0), ERROR_INVALID_PARAMETER);
    CHECK_ERR(!VirtualFree(a, 0, MEM_FREE), ERROR_INVALID_PARAMETER);
    CHECK(VirtualFree(a, 0x10000, MEM_DECOMMIT));
    CHECK_ERR(!VirtualFree(a, 1, MEM_RELEASE), ERROR_INVALID_PARAMETER);
    CHECK(VirtualFree(a, 0, MEM_RELEASE));
    query(a, &info);
    CHECK(info.State == MEM_FREE && info.Type == 0);
    CHECK_ERR(!UnmapViewOfFile(a), ERROR_INVALID_ADDRESS);

    b = (char *)VirtualAllocEx(GetCurrentProcess(), NULL, 0x2000, MEM_COMMIT, PAGE_READWRITE | PAGE_NOCACHE);
    CHECK(b != NULL);
    query(b, &info);
    CHECK(info.AllocationProtect == (PAGE_READWRITE | PAGE_NOCACHE) && info.Protect == (PAGE_READWRITE | PAGE_NOCACHE));
    CHECK(VirtualProtectEx(GetCurrentProcess(), b, 0x1000, PAGE_READONLY, &old));
    CHECK(old == (PAGE_READWRITE | PAGE_NOCACHE));
    CHECK(VirtualQueryEx(GetCurrentProcess(), b, &info, sizeof(info)) == sizeof(info));
    CHECK(info.Protect == (PAGE_READONLY | PAGE_NOCACHE) && info.RegionSize == 0x1000);
    CHECK(VirtualFreeEx(GetCurrentProcess(), b, 0, MEM_RELEASE));
    CHECK_ERR(VirtualQuery(b, &info, 4) == 0, ERROR_BAD_LENGTH);
    CHECK(GetLargePageMinimum() == 0 || GetLargePageMinimum() % 4096 == 0);
}

static void reserved_section(const char *exe) {
    MEMORY_BASIC_INFORMATION info;
    HANDLE map = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | SEC_RESERVE, 0, MAPPING_SIZE,
                                    "Local\\memory_api_reserve");
    char *p, *p2;
    char cmd[512];
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    DWORD code = 1;

    CHECK(map != NULL);
    p = (char *)MapViewOfFile(map, FILE_MAP_WRITE, 0, 0, 0);
    p2 = (char *)MapViewOfFile(map, FILE_MAP_WRITE, 0, 0, 0);
    CHECK(p != NULL && p2 != NULL && p != p2);
    query(p, &info);
    CHECK(info.AllocationBase == p && info.RegionSize == MAPPING_SIZE && info.State == MEM_RESERVE);
    CHECK(info.AllocationProtect == PAGE_READWRITE && info.Protect == 0 && info.Type == MEM_MAPPED);
    CHECK(VirtualAlloc(p + 10, 0x10000 - 10, MEM_COMMIT, PAGE_READWRITE) == p);
    query(p2, &info);
    CHECK(info.State == MEM_COMMIT && info.RegionSize == 0x10000 && info.Protect == PAGE_READWRITE);
    strcpy(p + 100, "committed by the parent");
    CHECK(strcmp(p2 + 100, "committed by the parent") == 0);
    CHECK_ERR(!VirtualFree(p, 0x10000, MEM_DECOMMIT), ERROR_INVALID_PARAMETER);

    /* A second process opens the section and reads the committed page directly. */
    snprintf(cmd, sizeof(cmd), "\"%s\" child", exe);
    memset(&si, 0, sizeof(si));
    si.cb = sizeof(si);
    CHECK(CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi));
    WaitForSingleObject(pi.hProcess, 30000);
    CHECK(GetExitCodeProcess(pi.hProcess, &code) && code == 0);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    CHECK(strcmp(p + 0x10000, "child was here") == 0);
    CHECK(UnmapViewOfFile(p2));
    CHECK(UnmapViewOfFile(p));
    CloseHandle(map);
}

static int child(void) {
    MEMORY_BASIC_INFORMATION info;
    HANDLE map = OpenFileMappingA(FILE_MAP_ALL_ACCESS, FALSE, "Local\\memory_api_reserve");
    char *p = map ? (char *)MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0) : NULL;
    if (!p) return 2;
    query(p, &info);
    CHECK(info.State == MEM_COMMIT && info.RegionSize == 0x10000);
    CHECK(strcmp(p + 100, "committed by the parent") == 0);
    query(p + 0x10000, &info);
    CHECK(info.State == MEM_RESERVE && info.Protect == 0);
    CHECK(VirtualAlloc(p + 0x10000, 0x1000, MEM_COMMIT, PAGE_READWRITE) == p + 0x10000);
    strcpy(p + 0x10000, "child was here");
    return failures ? 1 : 0;
}

static void ring_buffer(void) {
    const SIZE_T size = 0x10000;
    HANDLE map = CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, (DWORD)size, NULL);
    char *ph = (char *)VirtualAlloc2(NULL, NULL, 2 * size, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS, NULL, 0);
    char *v1, *v2;
    MEMORY_BASIC_INFORMATION info;

    CHECK(map != NULL && ph != NULL);
    CHECK_ERR(VirtualAlloc(NULL, size, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS) == NULL,
              ERROR_INVALID_PARAMETER);
    CHECK(VirtualFree(ph, size, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER));
    v1 = (char *)MapViewOfFile3(map, GetCurrentProcess(), ph, 0, size, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0);
    v2 = (char *)MapViewOfFile3(map, GetCurrentProcess(), ph + size, 0, size, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0);
    CHECK(v1 == ph && v2 == ph + size);
    memcpy(v1 + size - 5, "wrap-around", 12);
    CHECK(memcmp(v1, "around", 7) == 0);
    CHECK(memcmp(v2 + size - 5, "wrap-", 5) == 0); /* both halves are the same memory */
    query(v2, &info);
    CHECK(info.AllocationBase == v2 && info.Type == MEM_MAPPED && info.RegionSize == size);
    CHECK(UnmapViewOfFileEx(v1, MEM_PRESERVE_PLACEHOLDER));
    CHECK(UnmapViewOfFile2(GetCurrentProcess(), v2, MEM_PRESERVE_PLACEHOLDER));
    query(ph, &info);
    CHECK(info.State == MEM_RESERVE && info.Type == MEM_PRIVATE && info.RegionSize == size);
    CHECK(VirtualFree(ph, 2 * size, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS));
    CHECK(VirtualFree(ph, 0, MEM_RELEASE));
    CloseHandle(map);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) return child();
    private_memory();
    reserved_section(argv[0]);
    ring_buffer();
    if (failures) {
        printf("%d failures\n", failures);
        return 1;
    }
    printf("MEMORY OK\n");
    return 0;
}
