/* pch.h - the precompiled header of newer Visual Studio templates (stdafx.h's successor); see
 * stdafx.h. A project's own pch.h is found first. */
#include "stdafx.h"
