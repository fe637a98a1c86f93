/* stdafx.h - the precompiled header Visual Studio's older console template adds to every
 * project (it includes targetver.h, <stdio.h> and <tchar.h>). Published sources include it
 * but rarely ship it; a project's own stdafx.h next to its sources is found first. */
#include "targetver.h"
#include <stdio.h>
#include <tchar.h>
#include <windows.h>
