/* Security descriptors at create, across real processes and users: the parent (root) creates
 * Global\ objects with NULL, empty, SDDL and hand-built DACLs; children started with
 * CreateProcess drop to other uids and report what they could open (exit code = last error,
 * 0 = success). Also: SDDL round trips, malformed descriptors, GetSecurityInfo/SetSecurityInfo. */
#include <windows.h>
#include <sddl.h>
#include <aclapi.h>
#include <grp.h>
#include <unistd.h>

#include "check.h"

static char self_path[1024];

/* Whether TCHAR text equals ASCII text. */
static int tequal(LPCTSTR t, const char *a)
{
    while (*a && (unsigned)*t == (unsigned char)*a)
        t++, a++;
    return *t == 0 && *a == 0;
}

/* Runs this program as `child UID GID GROUP OP NAME` and returns its exit code. */
static DWORD as_user(int uid, int gid, int group, const char *op, const char *name)
{
    char cmd[2048];
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    DWORD code = 0xffffffff;
    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    snprintf(cmd, sizeof cmd, "\"%s\" child %d %d %d %s %s", self_path, uid, gid, group, op, name);
    if (!CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
        printf("CreateProcess failed (%u)\n", (unsigned)GetLastError());
        failures++;
        return code;
    }
    CHECK(WaitForSingleObject(pi.hProcess, 30000) == WAIT_OBJECT_0);
    CHECK(GetExitCodeProcess(pi.hProcess, &code));
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    return code;
}

static int child(int argc, char **argv)
{
    int uid = atoi(argv[2]), gid = atoi(argv[3]), group = atoi(argv[4]);
    const char *op = argv[5], *name = argv[6];
    gid_t groups[1] = {(gid_t)group};
    if (setgroups(group ? 1 : 0, groups) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
        return 200;
    (void)argc;
    if (strcmp(op, "read") == 0 || strcmp(op, "write") == 0) {
        int write = op[0] == 'w';
        HANDLE m = OpenFileMappingA(write ? FILE_MAP_ALL_ACCESS : FILE_MAP_READ, FALSE, name);
        if (!m)
            return (int)GetLastError();
        char *v = (char *)MapViewOfFile(m, write ? FILE_MAP_WRITE : FILE_MAP_READ, 0, 0, 0);
        if (!v)
            return (int)GetLastError();
        if (write)
            strcpy(v, "child");
        else if (strcmp(v, "parent") != 0 && strcmp(v, "child") != 0)
            return 201;
        return 0;
    }
    if (strcmp(op, "signal") == 0) {
        HANDLE e = OpenEventA(EVENT_MODIFY_STATE, FALSE, name);
        if (!e)
            return (int)GetLastError();
        return SetEvent(e) ? 0 : (int)GetLastError();
    }
    return 202;
}

static HANDLE make_mapping(const char *name, PSECURITY_DESCRIPTOR sd)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, sd, FALSE};
    HANDLE m = CreateFileMappingA(INVALID_HANDLE_VALUE, &sa, PAGE_READWRITE, 0, 4096, name);
    CHECK(m != NULL);
    char *v = (char *)MapViewOfFile(m, FILE_MAP_WRITE, 0, 0, 0);
    CHECK(v != NULL);
    if (v)
        strcpy(v, "parent");
    return m;
}

static void sddl_functions(void)
{
    PSECURITY_DESCRIPTOR sd = NULL;
    ULONG size = 0;
    LPSTR text = NULL;
    ULONG len = 0;
    const char *in = "O:SYG:BAD:P(A;;GA;;;WD)(D;OICI;0x12019f;;;S-1-22-1-1000)(A;;CCDC;;;S-1-22-2-4242)";
    CHECK(ConvertStringSecurityDescriptorToSecurityDescriptorA(in, SDDL_REVISION_1, &sd, &size));
    CHECK(size > sizeof(SECURITY_DESCRIPTOR_RELATIVE) && IsValidSecurityDescriptor(sd));
    CHECK(((SECURITY_DESCRIPTOR_RELATIVE *)sd)->Control & SE_SELF_RELATIVE);
    CHECK(ConvertSecurityDescriptorToStringSecurityDescriptorA(sd, SDDL_REVISION_1,
                                                               OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION |
                                                                   DACL_SECURITY_INFORMATION,
                                                               &text, &len));
    CHECK(text && strcmp(text, in) == 0 && len == strlen(in) + 1);
    if (text && strcmp(text, in) != 0)
        printf("round trip gave %s\n", text);
    LocalFree(text);
    CHECK(ConvertSecurityDescriptorToStringSecurityDescriptorA(sd, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, &text, NULL));
    CHECK(text && strncmp(text, "D:P(A;;GA;;;WD)", 15) == 0);
    LocalFree(text);
    LocalFree(sd);

    /* The TCHAR form (W in UNICODE builds). */
    PSECURITY_DESCRIPTOR sd2 = NULL;
    LPTSTR ttext = NULL;
    CHECK(ConvertStringSecurityDescriptorToSecurityDescriptor(TEXT("D:(A;;GRGW;;;AU)"), SDDL_REVISION_1, &sd2, NULL));
    CHECK(ConvertSecurityDescriptorToStringSecurityDescriptor(sd2, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, &ttext, NULL));
    CHECK(ttext && tequal(ttext, "D:(A;;GWGR;;;AU)"));
    LocalFree(ttext);
    LocalFree(sd2);

    CHECK_ERR(!ConvertStringSecurityDescriptorToSecurityDescriptorA("D:(A;;GA;;;WD)", 0xdeadbeef, &sd, NULL),
              ERROR_UNKNOWN_REVISION);
    CHECK_ERR(!ConvertStringSecurityDescriptorToSecurityDescriptorA("ERROR:(D;;GA;;;WD)", SDDL_REVISION_1, &sd, NULL),
              ERROR_INVALID_PARAMETER);
    CHECK_ERR(!ConvertStringSecurityDescriptorToSecurityDescriptorA("D:(A;;ROB;;;WD)", SDDL_REVISION_1, &sd, NULL),
              ERROR_INVALID_ACL);
    CHECK_ERR(!ConvertStringSecurityDescriptorToSecurityDescriptorA(NULL, SDDL_REVISION_1, &sd, NULL),
              ERROR_INVALID_PARAMETER);

    /* SIDs: strings, aliases, authorities. */
    PSID world = NULL, parsed = NULL, unix_user = NULL;
    SID_IDENTIFIER_AUTHORITY world_auth = {SECURITY_WORLD_SID_AUTHORITY};
    SID_IDENTIFIER_AUTHORITY unix_auth = {SECURITY_UNIX_AUTHORITY};
    CHECK(AllocateAndInitializeSid(&world_auth, 1, SECURITY_WORLD_RID, 0, 0, 0, 0, 0, 0, 0, &world));
    CHECK(ConvertStringSidToSidA("WD", &parsed));
    CHECK(EqualSid(world, parsed) && GetLengthSid(world) == 12 && IsValidSid(world));
    LocalFree(parsed);
    CHECK(AllocateAndInitializeSid(&unix_auth, 2, SECURITY_UNIX_USER_RID, 65534, 0, 0, 0, 0, 0, 0, &unix_user));
    CHECK(ConvertSidToStringSidA(unix_user, &text));
    CHECK(text && strcmp(text, "S-1-22-1-65534") == 0);
    LocalFree(text);
    CHECK_ERR(!ConvertStringSidToSidA("S-1-garbage", &parsed), ERROR_INVALID_SID);
    CHECK_ERR(!AllocateAndInitializeSid(&world_auth, 9, 0, 0, 0, 0, 0, 0, 0, 0, &parsed), ERROR_INVALID_PARAMETER);
    CHECK(FreeSid(world) == NULL);
    FreeSid(unix_user);

    /* ACLs. */
    char buf[256];
    PACL acl = (PACL)buf;
    CHECK_ERR(!InitializeAcl(acl, sizeof(ACL) - 1, ACL_REVISION), ERROR_INSUFFICIENT_BUFFER);
    CHECK_ERR(!InitializeAcl(acl, 0xffffffff, ACL_REVISION), ERROR_INVALID_PARAMETER);
    CHECK_ERR(!InitializeAcl(acl, sizeof buf, ACL_REVISION1), ERROR_INVALID_PARAMETER);
    CHECK(InitializeAcl(acl, 24, ACL_REVISION) && IsValidAcl(acl) && acl->AceCount == 0);
    CHECK(ConvertStringSidToSidA("S-1-22-1-1", &parsed));
    CHECK_ERR(!AddAccessAllowedAce(acl, ACL_REVISION, GENERIC_ALL, parsed), ERROR_ALLOTTED_SPACE_EXCEEDED);
    CHECK(InitializeAcl(acl, sizeof buf, ACL_REVISION));
    CHECK(AddAccessDeniedAce(acl, ACL_REVISION, GENERIC_WRITE, parsed));
    CHECK(AddAccessAllowedAceEx(acl, ACL_REVISION, 0, GENERIC_READ, parsed));
    CHECK(acl->AceCount == 2 && IsValidAcl(acl));
    LocalFree(parsed);

    SECURITY_DESCRIPTOR abs;
    CHECK_ERR(!InitializeSecurityDescriptor(&abs, 2), ERROR_UNKNOWN_REVISION);
    CHECK(InitializeSecurityDescriptor(&abs, SECURITY_DESCRIPTOR_REVISION));
    CHECK(sizeof abs == SECURITY_DESCRIPTOR_MIN_LENGTH && sizeof abs == 40);
    CHECK(ConvertSecurityDescriptorToStringSecurityDescriptorA(&abs, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, &text, NULL));
    CHECK(text && strcmp(text, "") == 0);
    LocalFree(text);
    CHECK(SetSecurityDescriptorDacl(&abs, TRUE, acl, FALSE));
    CHECK(ConvertSecurityDescriptorToStringSecurityDescriptorA(&abs, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, &text, NULL));
    CHECK(text && strcmp(text, "D:(D;;GW;;;S-1-22-1-1)(A;;GR;;;S-1-22-1-1)") == 0);
    LocalFree(text);
    CHECK(SetSecurityDescriptorDacl(&abs, TRUE, NULL, FALSE));
    CHECK(ConvertSecurityDescriptorToStringSecurityDescriptorA(&abs, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, &text, NULL));
    CHECK(text && strcmp(text, "D:NO_ACCESS_CONTROL") == 0);
    LocalFree(text);
    BOOL present = FALSE, defaulted = TRUE;
    PACL got = acl;
    CHECK(GetSecurityDescriptorDacl(&abs, &present, &got, &defaulted) && present && got == NULL && !defaulted);
}

int main(int argc, char **argv)
{
    if (argc > 6 && strcmp(argv[1], "child") == 0)
        return child(argc, argv);
    snprintf(self_path, sizeof self_path, "%s", argv[0]);
    char name[128];
    DWORD pid = GetCurrentProcessId();

    sddl_functions();

    /* A NULL DACL: another user opens, writes and signals. */
    SECURITY_DESCRIPTOR open_sd;
    CHECK(InitializeSecurityDescriptor(&open_sd, SECURITY_DESCRIPTOR_REVISION));
    CHECK(SetSecurityDescriptorDacl(&open_sd, TRUE, NULL, FALSE));
    snprintf(name, sizeof name, "Global\\sec-null-%u", (unsigned)pid);
    HANDLE null_map = make_mapping(name, &open_sd);
    CHECK(as_user(65534, 65534, 0, "write", name) == 0);
    char *view = (char *)MapViewOfFile(null_map, FILE_MAP_READ, 0, 0, 0);
    CHECK(view && strcmp(view, "child") == 0);
    snprintf(name, sizeof name, "Global\\sec-null-ev-%u", (unsigned)pid);
    SECURITY_ATTRIBUTES sa = {sizeof sa, &open_sd, FALSE};
    HANDLE ev = CreateEventA(&sa, TRUE, FALSE, name);
    CHECK(ev != NULL);
    CHECK(as_user(65534, 65534, 0, "signal", name) == 0);
    CHECK(WaitForSingleObject(ev, 0) == WAIT_OBJECT_0);

    /* SDDL: a Unix user may read and not write; others nothing. */
    PSECURITY_DESCRIPTOR sd = NULL;
    CHECK(ConvertStringSecurityDescriptorToSecurityDescriptorA("D:(A;;GR;;;S-1-22-1-65534)", SDDL_REVISION_1, &sd, NULL));
    snprintf(name, sizeof name, "Global\\sec-user-%u", (unsigned)pid);
    HANDLE user_map = make_mapping(name, sd);
    LocalFree(sd);
    CHECK(as_user(65534, 65534, 0, "read", name) == 0);
    CHECK(as_user(65534, 65534, 0, "write", name) == ERROR_ACCESS_DENIED);
    CHECK(as_user(65533, 65533, 0, "read", name) == ERROR_ACCESS_DENIED);

    /* A hand-built ACL for a Unix group: members yes, others no. */
    char acl_buf[128];
    PACL acl = (PACL)acl_buf;
    PSID group_sid = NULL;
    SID_IDENTIFIER_AUTHORITY unix_auth = {SECURITY_UNIX_AUTHORITY};
    CHECK(AllocateAndInitializeSid(&unix_auth, 2, SECURITY_UNIX_GROUP_RID, 4242, 0, 0, 0, 0, 0, 0, &group_sid));
    CHECK(InitializeAcl(acl, sizeof acl_buf, ACL_REVISION));
    CHECK(AddAccessAllowedAce(acl, ACL_REVISION, GENERIC_ALL, group_sid));
    FreeSid(group_sid);
    SECURITY_DESCRIPTOR group_sd;
    CHECK(InitializeSecurityDescriptor(&group_sd, SECURITY_DESCRIPTOR_REVISION));
    CHECK(SetSecurityDescriptorDacl(&group_sd, TRUE, acl, FALSE));
    snprintf(name, sizeof name, "Global\\sec-group-%u", (unsigned)pid);
    HANDLE group_map = make_mapping(name, &group_sd);
    CHECK(as_user(65534, 65534, 4242, "write", name) == 0);
    CHECK(as_user(65534, 65534, 0, "read", name) == ERROR_ACCESS_DENIED);

    /* GetSecurityInfo shows who may do what; SetSecurityInfo changes it. */
    PSID owner = NULL;
    PACL dacl = NULL;
    PSECURITY_DESCRIPTOR got = NULL;
    CHECK(GetSecurityInfo(group_map, SE_KERNEL_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &owner,
                          NULL, &dacl, NULL, &got) == ERROR_SUCCESS);
    CHECK(owner != NULL && dacl != NULL && IsValidAcl(dacl));
    LPSTR text = NULL;
    CHECK(ConvertSecurityDescriptorToStringSecurityDescriptorA(got, SDDL_REVISION_1,
                                                               OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                                                               &text, NULL));
    CHECK(text && strcmp(text, "O:S-1-22-1-0D:(A;;CCDCLCSWRPSDRCWDWO;;;S-1-22-2-4242)") == 0);
    if (text)
        printf("group mapping: %s\n", text);
    LocalFree(text);
    LocalFree(got);
    CHECK(SetSecurityInfo(group_map, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, NULL, NULL) ==
          ERROR_SUCCESS);
    CHECK(as_user(65534, 65534, 0, "read", name) == 0);
    HANDLE read_only = OpenFileMappingA(FILE_MAP_READ, FALSE, name);
    CHECK(read_only != NULL);
    CHECK(GetSecurityInfo(read_only, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, NULL, NULL, &dacl, NULL, &got) ==
          ERROR_ACCESS_DENIED);
    CloseHandle(read_only);

    /* An empty DACL: nobody may open it; the creator's handle keeps its access. */
    char empty_buf[16];
    CHECK(InitializeAcl((PACL)empty_buf, sizeof empty_buf, ACL_REVISION));
    SECURITY_DESCRIPTOR empty_sd;
    CHECK(InitializeSecurityDescriptor(&empty_sd, SECURITY_DESCRIPTOR_REVISION));
    CHECK(SetSecurityDescriptorDacl(&empty_sd, TRUE, (PACL)empty_buf, FALSE));
    snprintf(name, sizeof name, "Global\\sec-empty-%u", (unsigned)pid);
    HANDLE empty_map = make_mapping(name, &empty_sd);
    CHECK(as_user(65534, 65534, 0, "read", name) == ERROR_ACCESS_DENIED);
    char *mine = (char *)MapViewOfFile(empty_map, FILE_MAP_WRITE, 0, 0, 0);
    CHECK(mine && strcmp(mine, "parent") == 0);

    /* A malformed descriptor creates nothing. */
    unsigned char bad[40] = {2};
    SECURITY_ATTRIBUTES bad_sa = {sizeof bad_sa, bad, FALSE};
    snprintf(name, sizeof name, "Global\\sec-bad-%u", (unsigned)pid);
    CHECK_ERR(CreateFileMappingA(INVALID_HANDLE_VALUE, &bad_sa, PAGE_READWRITE, 0, 4096, name) == NULL,
              ERROR_INVALID_SECURITY_DESCR);
    CHECK_ERR(CreateMutexA(&bad_sa, FALSE, name) == NULL, ERROR_INVALID_SECURITY_DESCR);
    CHECK_ERR(OpenFileMappingA(FILE_MAP_READ, FALSE, name) == NULL, ERROR_FILE_NOT_FOUND);

    /* No descriptor: owner-only, as before. */
    snprintf(name, sizeof name, "Global\\sec-default-%u", (unsigned)pid);
    HANDLE def = make_mapping(name, NULL);
    CHECK(as_user(65534, 65534, 0, "read", name) == ERROR_ACCESS_DENIED);

    CloseHandle(def);
    CloseHandle(empty_map);
    CloseHandle(group_map);
    CloseHandle(user_map);
    CloseHandle(ev);
    CloseHandle(null_map);
    if (failures == 0)
        printf("SECURITY OK\n");
    return failures != 0;
}
