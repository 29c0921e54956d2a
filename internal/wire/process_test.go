package wire

import (
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The addon's C side of the process transport hard-codes the frame layout and the op
// numbers (addon/go_process.h, plain C with no Go to include): every #define there must
// equal the constant it names here, and none may be missing.
func TestGoProcessHeaderAgrees(t *testing.T) {
	text, err := os.ReadFile("../../addon/go_process.h")
	require.NoError(t, err)
	want := map[string]int{
		"RN_PROCESS_CALL_FD": ProcessCallFD, "RN_PROCESS_SIGNAL_FD": ProcessSignalFD,
		"RN_PROCESS_REQUEST_HEADER": ProcessCallHeader, "RN_PROCESS_RESPONSE_HEADER": ProcessResponseHeader,
		"RN_PROCESS_SIGNAL_FRAME": ProcessSignalFrame,
		"RN_OP_CONSTANTS":         OpConstants, "RN_OP_CHECK_CONFIG": OpCheckConfig, "RN_OP_CREATE": OpCreate,
		"RN_OP_REGISTER": OpRegister, "RN_OP_LISTEN": OpListen, "RN_OP_EXCHANGE": OpExchange,
		"RN_OP_HEADERS": OpHeaders, "RN_OP_REMOTE": OpRemote, "RN_OP_CLOSE": OpClose,
		"RN_OP_CLOSE_CONNECTIONS": OpCloseConnections, "RN_OP_DETACH": OpDetach, "RN_OP_FREE": OpFree,
		"RN_OP_STATS": OpStats,
	}
	got := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^#define (RN_\w+) (\d+)$`).FindAllSubmatch(text, -1) {
		n, _ := strconv.Atoi(string(m[2]))
		got[string(m[1])] = n
	}
	assert.Equal(t, want, got)
}
