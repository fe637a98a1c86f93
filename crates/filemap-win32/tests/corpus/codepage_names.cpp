// codepage_names.cpp - object names built from narrow command-line text with
// MultiByteToWideChar (the usual "convert argv to a wstring" helper), a non-ASCII mapping name,
// and a second process that opens the mapping through the ANSI function with the UTF-8 name
// and converts the wide text back with WideCharToMultiByte.
#include <windows.h>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

static std::wstring widen(const std::string &s)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s.c_str(), -1, NULL, 0);
    if (n == 0)
        return L"";
    std::vector<wchar_t> buf(n);
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s.c_str(), -1, buf.data(), n);
    return std::wstring(buf.data());
}

static std::string narrow(const std::wstring &w)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w.c_str(), -1, NULL, 0, NULL, NULL);
    std::string out(n, '\0');
    WideCharToMultiByte(CP_UTF8, 0, w.c_str(), -1, &out[0], n, NULL, NULL);
    out.resize(n - 1);
    return out;
}

int main(int argc, char *argv[])
{
    std::string suffix = argc > 2 ? argv[2] : "Grüße";
    if (argc > 1 && std::string(argv[1]) == "open") {
        std::string name = "Local\\Corpus-" + suffix;
        HANDLE map = OpenFileMappingA(FILE_MAP_READ, FALSE, name.c_str());
        if (!map) {
            std::cout << "open " << name << " failed: " << GetLastError() << std::endl;
            return 1;
        }
        const wchar_t *text = static_cast<const wchar_t *>(MapViewOfFile(map, FILE_MAP_READ, 0, 0, 0));
        std::cout << "second process read: " << narrow(text) << " (" << wcslen(text) << " characters)" << std::endl;
        return 0;
    }
    std::wstring name = L"Local\\Corpus-" + widen(suffix);
    HANDLE map = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, 4096, name.c_str());
    wchar_t *view = static_cast<wchar_t *>(MapViewOfFile(map, FILE_MAP_ALL_ACCESS, 0, 0, 0));
    std::wstring text = L"Überraschung für " + widen(suffix) + L" — €5";
    wcscpy_s(view, 2048, text.c_str());
    std::wcout << L"first process wrote " << text.size() << L" characters under " << name << std::endl;

    char invalid[] = {'a', (char)0xff, 0};
    SetLastError(0);
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, invalid, -1, NULL, 0);
    std::cout << "invalid UTF-8: " << n << " / error " << GetLastError() << std::endl;

    STARTUPINFOA si = {sizeof(si)};
    PROCESS_INFORMATION pi;
    std::string cmd = std::string("\"") + argv[0] + "\" open " + suffix;
    if (!CreateProcessA(NULL, &cmd[0], NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
        return 1;
    WaitForSingleObject(pi.hProcess, INFINITE);
    DWORD code;
    GetExitCodeProcess(pi.hProcess, &code);
    std::cout << "second process exit code " << code << std::endl;
    return 0;
}
