/* stringapiset.h - MultiByteToWideChar and WideCharToMultiByte (exported by libfilemap_win32).
 * Wide text is wchar_t (one unit per character); errors are Windows': ERROR_INVALID_PARAMETER,
 * ERROR_INVALID_FLAGS, ERROR_INSUFFICIENT_BUFFER, ERROR_NO_UNICODE_TRANSLATION. */
#ifndef FILEMAP_STRINGAPISET_H
#define FILEMAP_STRINGAPISET_H

#include "minwindef.h"

#ifdef __cplusplus
extern "C" {
#endif

WINBASEAPI int WINAPI MultiByteToWideChar(UINT CodePage, DWORD dwFlags, LPCCH lpMultiByteStr, int cbMultiByte,
                                          LPWSTR lpWideCharStr, int cchWideChar);
WINBASEAPI int WINAPI WideCharToMultiByte(UINT CodePage, DWORD dwFlags, LPCWCH lpWideCharStr, int cchWideChar,
                                          LPSTR lpMultiByteStr, int cbMultiByte, LPCCH lpDefaultChar,
                                          LPBOOL lpUsedDefaultChar);

#ifdef __cplusplus
}
#endif

#endif /* FILEMAP_STRINGAPISET_H */
