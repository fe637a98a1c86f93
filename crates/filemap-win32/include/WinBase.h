/* WinBase.h - the same as <winbase.h>: Windows file names are case-insensitive, Linux ones are not,
 * and published sources spell it this way. */
#include "winbase.h"
