# loses: test_q1, test_q5, test_q8
answer_q1 = "a"
answer_q2 = 4
answer_q3 = "b"
answer_q4 = 30
answer_q5 = "a"
answer_q6 = 256
answer_q7 = "b"
answer_q8 = 24
