# loses: test_q1, test_q4
answer_q1 = "a"
answer_q2 = 64
answer_q3 = 1050624
answer_q4 = "a"
answer_q5 = "c"
answer_q6 = 800
answer_q7 = "b"
