# loses: test_q6, test_q7
answer_q1 = "b"
answer_q2 = 64
answer_q3 = 1050624
answer_q4 = "b"
answer_q5 = "c"
answer_q6 = 100
answer_q7 = "a"
